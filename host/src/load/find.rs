//! The first steps of loading a component: find its file, read and digest
//! it (or recall its digest by file identity, [`super::digest_memo`]), check
//! its signature on the raw bytes, and read its surface (from the surface
//! cache, or from the bytes without compiling, [`crate::component::decode`]).
//! Nothing here compiles: that is the linking thread's
//! ([`crate::runtime::linked`]).

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::digest_memo::{self, DigestMemo};
use crate::component::{self, ComponentFile, Surface};
use crate::config::{ComponentSpec, LoadGates};
use crate::runtime::surface_cache::SurfaceCache;
use crate::runtime::{Runtime, provides};
use crate::signing;

/// A component's digest (`sha256:<hex>`) and surface.
pub(super) struct Found {
    pub digest: String,
    pub surface: Surface,
    /// Its bytes were read and hashed (not remembered).
    pub hashed: bool,
    /// The surface was read from the bytes (not the surface cache): the
    /// linking thread checks it against the compiled form.
    pub decoded: bool,
    /// The file's size, when it was read.
    pub size: u64,
}

/// `sha256:<hex>` → `<hex>`, as the caches name entries.
pub(super) fn hex_part(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

fn has_signature(path: &Path) -> bool {
    signing::bundle_path(path).exists() || signing::oci_signature_path(path).exists()
}

/// Whether the component's signature is checked: then its bytes are always
/// read, since the signature is checked on them.
fn signed(spec: &ComponentSpec, gates: &LoadGates) -> bool {
    gates.require_signature || (!gates.trusted_keys.is_empty() && has_signature(&spec.path))
}

/// A component's digest and surface without reading its file, when the file
/// is unchanged since it was last hashed and the surface of that digest is
/// cached. Needs no engine.
pub(super) fn find_cached(
    spec: &ComponentSpec,
    gates: &LoadGates,
    memo: Option<&DigestMemo>,
    surfaces: &SurfaceCache,
) -> Option<Found> {
    if signed(spec, gates) {
        return None;
    }
    let digest = memo?.get(&spec.path)?;
    let surface = surfaces.get(hex_part(&digest))?;
    Some(Found { digest, surface, hashed: false, decoded: false, size: 0 })
}

/// A component's digest and surface from its bytes (signature checked
/// first): from the surface cache, or read from the bytes. A component
/// wit-parser cannot read as a WIT world (a hand-made one exporting bare
/// types, say) is compiled to read its surface, with `runtime`; without
/// one, `None` says so, and nothing is remembered.
pub(super) fn find(
    spec: &ComponentSpec,
    gates: &LoadGates,
    memo: Option<&DigestMemo>,
    surfaces: &SurfaceCache,
    runtime: Option<&Runtime>,
) -> Result<Option<Found>> {
    let (bytes, identity) = digest_memo::read(&spec.path)?;
    // The signature is checked on the raw bytes, before anything parses them.
    if signed(spec, gates) {
        let key = signing::verify_component(&spec.path, &bytes, &gates.trusted_keys)
            .context("signature check failed")?;
        tracing::info!(component = %spec.name, key = %key.label, "signature verified");
    }
    let file = ComponentFile::from_bytes(&spec.path, bytes)?;
    let size = file.bytes.len() as u64;
    let found =
        |surface, decoded| Found { digest: file.digest.clone(), surface, hashed: true, decoded, size };
    if let Some(surface) = surfaces.get(file.digest_hex()) {
        remember(memo, spec, identity, &file);
        return Ok(Some(found(surface, false)));
    }
    let surface = match component::decode(&file.bytes, file.metadata.clone()) {
        Ok(surface) => surface,
        Err(error) => {
            let Some(runtime) = runtime else {
                tracing::debug!(component = %spec.name, error = %format!("{error:#}"), "surface not read from the bytes; compiling to read it");
                return Ok(None);
            };
            let (component, _) =
                runtime.compile(file.digest_hex(), &file.bytes).context("not a valid component")?;
            runtime.pre_instantiate(&component).context("it needs something this host does not provide")?;
            let surface = Surface::of(runtime.engine(), &component, file.metadata.clone());
            surfaces.put(file.digest_hex(), &surface);
            remember(memo, spec, identity, &file);
            return Ok(Some(found(surface, false)));
        }
    };
    if let Some(import) = surface.imports.iter().find(|import| !provides(import)) {
        bail!("it needs `{import}`, which this host does not provide");
    }
    remember(memo, spec, identity, &file);
    Ok(Some(found(surface, true)))
}

/// Remembers the file's digest by its identity, for the next start.
fn remember(
    memo: Option<&DigestMemo>,
    spec: &ComponentSpec,
    identity: Option<digest_memo::Identity>,
    file: &ComponentFile,
) {
    if let Some(memo) = memo {
        memo.put(&spec.path, identity, &file.digest);
    }
}

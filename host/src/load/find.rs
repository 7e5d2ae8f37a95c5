//! The first steps of loading a component: find its file, read and digest
//! it (or recall its digest by file identity, [`super::digest_memo`]), check
//! its signature on the raw bytes, and read its surface (from the surface
//! cache, or by compiling and linking it).

use std::path::Path;

use anyhow::{Context, Result};

use super::digest_memo::{self, DigestMemo};
use crate::component::{ComponentFile, Surface};
use crate::config::{ComponentSpec, LoadGates};
use crate::runtime::Runtime;
use crate::runtime::cache::CompileSource;
use crate::runtime::linked::Linked;
use crate::runtime::surface_cache::SurfaceCache;
use crate::signing;

/// A component's digest (`sha256:<hex>`) and surface, and its linked form if
/// it had to be compiled or linked to read the surface.
pub(super) struct Found {
    pub digest: String,
    pub surface: Surface,
    pub linked: Option<Linked>,
    /// Its bytes were read and hashed (not remembered).
    pub hashed: bool,
    /// Compiled now (not read from the cache).
    pub compiled: bool,
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
    Some(Found { digest, surface, linked: None, hashed: false, compiled: false })
}

/// A component's digest and surface from its bytes (signature checked
/// first); compiled and linked when the surface is not cached.
pub(super) fn find(
    runtime: &Runtime,
    spec: &ComponentSpec,
    gates: &LoadGates,
    memo: Option<&DigestMemo>,
    surfaces: &SurfaceCache,
) -> Result<Found> {
    let (bytes, identity) = digest_memo::read(&spec.path)?;
    // The signature is checked on the raw bytes, before anything parses them.
    if signed(spec, gates) {
        let key = signing::verify_component(&spec.path, &bytes, &gates.trusted_keys)
            .context("signature check failed")?;
        tracing::info!(component = %spec.name, key = %key.label, "signature verified");
    }
    let file = ComponentFile::from_bytes(&spec.path, bytes)?;
    if let Some(memo) = memo {
        memo.put(&spec.path, identity, &file.digest);
    }
    if let Some(surface) = surfaces.get(file.digest_hex()) {
        return Ok(Found { digest: file.digest, surface, linked: None, hashed: true, compiled: false });
    }
    let (component, source) =
        runtime.compile(file.digest_hex(), &file.bytes).context("not a valid component")?;
    let pre = runtime.pre_instantiate(&component).context("it needs something this host does not provide")?;
    let surface = Surface::of(runtime.engine(), &component, file.metadata.clone());
    let linked = Linked::new(&component, pre, &surface.functions)?;
    surfaces.put(file.digest_hex(), &surface);
    let compiled = source == CompileSource::Compiled;
    Ok(Found { digest: file.digest, surface, linked: Some(linked), hashed: true, compiled })
}

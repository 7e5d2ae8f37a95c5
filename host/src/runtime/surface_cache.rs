//! Each component's [`Surface`] (its functions, imports and metadata) on
//! disk, keyed by digest and build of moat, beside the compiled forms of
//! [`super::cache`]: a restart can check and list tools before it has an
//! engine or deserialises anything.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::cache::refresh_if_stale;
use crate::component::Surface;
use crate::store::write_atomically;

/// Components' surfaces by digest, beside their compiled forms. A surface
/// does not depend on the engine's settings, so it is read without an engine.
#[derive(Debug, Clone)]
pub struct SurfaceCache {
    dir: Option<PathBuf>,
}

impl SurfaceCache {
    pub fn new(dir: Option<&Path>) -> SurfaceCache {
        SurfaceCache { dir: dir.map(Path::to_path_buf) }
    }

    /// One per build of moat: reading a surface is moat's own code (type
    /// mapping, metadata), so another build reads it afresh, and two builds
    /// sharing a cache do not overwrite each other's.
    fn entry(&self, digest: &str) -> Option<PathBuf> {
        let build = build_key()?;
        self.dir.as_ref().map(|dir| dir.join(format!("{digest}-{build}.surface.json")))
    }

    /// The surface this build of moat stored for `digest`. Storing it
    /// followed a successful compile and link, so a component listed from it
    /// links again (compiled afresh if its compiled form is gone).
    pub fn get(&self, digest: &str) -> Option<Surface> {
        let entry = self.entry(digest)?;
        let mut file = std::fs::File::open(&entry).ok()?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut text).ok()?;
        if let Ok(metadata) = file.metadata() {
            refresh_if_stale(&entry, &metadata, SystemTime::now());
        }
        serde_json::from_slice(&text).ok()
    }

    /// Remembers the surface of the component with `digest`, once it has
    /// compiled and linked.
    pub fn put(&self, digest: &str, surface: &Surface) {
        let Some(entry) = self.entry(digest) else { return };
        let bytes = serde_json::to_vec(surface).expect("a surface serialises");
        if let Err(error) = write_atomically(&entry, &bytes) {
            tracing::warn!(entry = %entry.display(), error = %format!("{error:#}"), "could not write compile-cache entry");
        }
    }
}

/// This build of moat: a hash of its version and of the executable's size
/// and modification time.
fn build_key() -> Option<&'static str> {
    static KEY: OnceLock<Option<String>> = OnceLock::new();
    KEY.get_or_init(|| {
        let exe = std::env::current_exe().ok()?.metadata().ok()?;
        let modified = exe.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        let stamp = format!("{} {} {}", env!("CARGO_PKG_VERSION"), exe.len(), modified.as_nanos());
        Some(hex::encode(&Sha256::digest(stamp)[..8]))
    })
    .as_deref()
}

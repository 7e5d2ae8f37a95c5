//! The on-disk cache of compiled components, keyed by component digest and
//! engine configuration, so a restart with known components compiles nothing;
//! and beside them each component's [`Surface`] (its functions, imports and
//! metadata), keyed by digest and build of moat, so a restart can check and
//! list tools before it has an engine or deserialises anything.
//!
//! Loading a cached artifact runs native code that wasmtime produced earlier, so
//! the cache directory is created private to the user (0700) and entries are
//! written atomically (temporary file, then rename). Anyone who can write that
//! directory can already run code as the user. A corrupt or incompatible entry
//! is reported, removed and recompiled; it never stops the host.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::component::Surface;

/// How a component came to be ready to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    /// Read from the cache, no compilation.
    Cache,
    /// Compiled now (and stored for next time, if there is a cache).
    Compiled,
}

/// The compiled-artifact cache (or its absence).
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// Feeds `Hash` output into sha256, to turn wasmtime's engine-compatibility hash
/// into a stable file-name component.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is read")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl CompileCache {
    /// A cache in `dir` (created 0700 if missing), or none at all.
    pub fn new(engine: &Engine, dir: Option<&Path>) -> Result<Self> {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        if let Some(dir) = dir {
            create_private_dir(dir)
                .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
        }
        Ok(CompileCache { dir: dir.map(Path::to_path_buf), engine_key })
    }

    /// The user's default cache directory for moat.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|dir| dir.join("moat").join("compiled"))
    }

    fn entry(&self, digest: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(format!("{digest}-{}.cwasm", self.engine_key)))
    }

    /// The compiled form of `bytes` (whose sha256 is `digest`), from the cache
    /// when possible.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(Component, CompileSource)> {
        if let Some(component) = self.load(engine, digest) {
            return Ok((component, CompileSource::Cache));
        }
        Ok((self.compile(engine, digest, bytes)?, CompileSource::Compiled))
    }

    /// The cached compiled form of the component with `digest`, if there is a
    /// usable one; an unusable one is reported and removed.
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let entry = self.entry(digest).filter(|e| e.exists())?;
        match deserialize(engine, &entry) {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(entry = %entry.display(), error = %format!("{error:#}"), "discarding unusable compile-cache entry");
                std::fs::remove_file(&entry).ok();
                None
            }
        }
    }

    /// Compiles `bytes` (whose sha256 is `digest`) and stores the result.
    pub fn compile(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> Result<Component> {
        let component = Component::from_binary(engine, bytes).map_err(anyhow::Error::from)?;
        if let Some(entry) = self.entry(digest)
            && let Err(error) = store(&component, &entry)
        {
            tracing::warn!(entry = %entry.display(), error = %format!("{error:#}"), "could not write compile-cache entry");
        }
        Ok(component)
    }
}

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
        let text = std::fs::read(self.entry(digest)?).ok()?;
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

#[expect(
    unsafe_code,
    reason = "deserialising native code is unsafe by nature; see the module comment for why this file is trusted"
)]
fn deserialize(engine: &Engine, entry: &Path) -> Result<Component> {
    // SAFETY: the entry was written by `store` below into a directory private to
    // this user, and wasmtime checks that it was produced by a compatible engine.
    unsafe { Component::deserialize_file(engine, entry) }.map_err(anyhow::Error::from)
}

fn store(component: &Component, entry: &Path) -> Result<()> {
    write_atomically(entry, &component.serialize().map_err(anyhow::Error::from)?)
}

/// Writes a cache entry whole or not at all: a temporary file in the same
/// directory, then a rename.
pub(crate) fn write_atomically(entry: &Path, bytes: &[u8]) -> Result<()> {
    let dir = entry.parent().expect("cache entries live in a directory");
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(entry)?;
    Ok(())
}

/// Creates a cache directory (and its parents) private to the user.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

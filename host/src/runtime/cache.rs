//! The on-disk cache of compiled components, keyed by component digest and
//! engine configuration, so a restart with known components compiles nothing.
//! Beside them, in the same directory and under the same budget, each
//! component's surface ([`super::surface_cache`]).
//!
//! Loading a cached artifact runs native code that wasmtime produced earlier, so
//! the cache directory is created private to the user (0700) and entries are
//! written atomically (temporary file, then rename). Anyone who can write that
//! directory can already run code as the user. A corrupt or incompatible entry
//! is reported, removed and recompiled; it never stops the host.
//!
//! The cache keeps to a size: when storing a compiled component takes it over
//! its budget, the entries used least recently are removed until it fits (a
//! component rebuilt many times, or each new build of moat, would otherwise
//! leave its old entries behind for good). A write that never finished (a
//! moat that was killed while writing) leaves its temporary file behind; those
//! go at the next prune once they are an hour old.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::store::{DEFAULT_CACHE_BUDGET, create_private_dir, write_atomically};

/// How a component came to be ready to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    /// Read from the cache, no compilation.
    Cache,
    /// Compiled now (and stored for next time, if there is a cache).
    Compiled,
}

/// A cache hit moves an entry to the back of the eviction order (by setting
/// its modification time) at most this often, so that serving stays free of
/// writes.
const REFRESH_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The compiled-artifact cache (or its absence).
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
    budget: u64,
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
        Ok(CompileCache { dir: dir.map(Path::to_path_buf), engine_key, budget: DEFAULT_CACHE_BUDGET })
    }

    /// Keeps the cache to `bytes` on disk.
    pub fn set_budget(&mut self, bytes: u64) {
        self.budget = bytes;
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
        let entry = self.entry(digest)?;
        let metadata = std::fs::metadata(&entry).ok()?;
        refresh_if_stale(&entry, &metadata, SystemTime::now());
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
        if let Some(entry) = self.entry(digest) {
            match store(&component, &entry) {
                Ok(()) => self.keep_to_budget(&entry),
                Err(error) => {
                    tracing::warn!(entry = %entry.display(), error = %format!("{error:#}"), "could not write compile-cache entry")
                }
            }
        }
        Ok(component)
    }

    /// After `stored` was written: removes the entries used least recently
    /// until the cache fits its budget again.
    fn keep_to_budget(&self, stored: &Path) {
        let Some(dir) = &self.dir else { return };
        match prune(dir, self.budget, stored) {
            Ok(Pruned { removed: 0, .. }) => {}
            Ok(Pruned { removed, freed }) => tracing::info!(
                dir = %dir.display(),
                removed,
                freed = %crate::limits::Bytes(freed),
                budget = %crate::limits::Bytes(self.budget),
                "compile cache kept to its budget: removed the entries used least recently and unfinished writes"
            ),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "could not keep the compile cache to its budget")
            }
        }
    }
}

/// Sets the modification time of a cache entry last set before
/// [`REFRESH_AFTER`] to `now`: the entry was just used. Failing changes nothing
/// but the entry's place in the eviction order.
pub(super) fn refresh_if_stale(entry: &Path, metadata: &std::fs::Metadata, now: SystemTime) {
    let stale = metadata
        .modified()
        .is_ok_and(|modified| now.duration_since(modified).is_ok_and(|age| age > REFRESH_AFTER));
    if stale && let Ok(file) = std::fs::File::options().write(true).open(entry) {
        file.set_modified(now).ok();
    }
}

/// What [`prune`] removed.
#[derive(Debug, PartialEq, Eq)]
struct Pruned {
    removed: usize,
    freed: u64,
}

impl Pruned {
    /// Removes the file at `path` (`len` bytes) and counts it. One gone
    /// already (another moat sharing the cache removed it) is as good as
    /// removed, and not counted.
    fn remove(&mut self, path: &Path, len: u64) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Ok(()) => {
                self.removed += 1;
                self.freed += len;
                Ok(())
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// How old a temporary file of [`write_atomically`] must be before a prune
/// takes it for the leftover of an unfinished write: far longer than writing
/// the largest entry takes, so another moat's write in progress is never cut.
const UNFINISHED_AFTER: Duration = Duration::from_secs(60 * 60);

/// Whether `name` is that of a temporary file of [`write_atomically`]
/// (`tempfile`'s default: `.tmp` and six random letters or digits).
fn is_temporary(name: &str) -> bool {
    name.strip_prefix(".tmp")
        .is_some_and(|rest| rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Removes cache entries (compiled components and surfaces, the files this
/// module names) of `dir`, oldest modification time first, until those left
/// take at most `budget` bytes; and temporary files of unfinished writes
/// older than [`UNFINISHED_AFTER`], whatever the budget. `keep` is never
/// removed, even alone over the budget; nor is anything else in the directory.
fn prune(dir: &Path, budget: u64, keep: &Path) -> std::io::Result<Pruned> {
    let now = SystemTime::now();
    let mut entries = Vec::new();
    let mut leftovers = Vec::new();
    let mut total: u64 = 0;
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let name = name.to_string_lossy();
        let temporary = is_temporary(&name);
        if !(temporary || name.ends_with(".cwasm") || name.ends_with(".surface.json")) {
            continue;
        }
        let metadata = item.metadata()?;
        if !metadata.is_file() {
            continue;
        }
        let modified = metadata.modified()?;
        if temporary {
            if now.duration_since(modified).is_ok_and(|age| age > UNFINISHED_AFTER) {
                leftovers.push((metadata.len(), item.path()));
            }
            continue;
        }
        total = total.saturating_add(metadata.len());
        entries.push((modified, metadata.len(), item.path()));
    }
    let mut pruned = Pruned { removed: 0, freed: 0 };
    for (len, path) in leftovers {
        pruned.remove(&path, len)?;
    }
    if total <= budget {
        return Ok(pruned);
    }
    entries.sort();
    for (_, len, path) in entries {
        if total <= budget {
            break;
        }
        if path == keep {
            continue;
        }
        pruned.remove(&path, len)?;
        total -= len;
    }
    Ok(pruned)
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    /// A file of `len` bytes in `dir`, last modified `age` ago.
    fn aged(dir: &Path, name: &str, len: usize, age: Duration) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, vec![0u8; len]).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    #[test]
    fn over_its_budget_the_cache_loses_the_entries_used_least_recently() {
        let dir = tempfile::tempdir().unwrap();
        let oldest = aged(dir.path(), "a-1.cwasm", 100, 4 * DAY);
        let old_surface = aged(dir.path(), "a-2.surface.json", 100, 3 * DAY);
        let recent = aged(dir.path(), "b-1.cwasm", 100, 2 * DAY);
        let stored = aged(dir.path(), "c-1.cwasm", 100, Duration::ZERO);
        let other = aged(dir.path(), "notes.txt", 1000, 9 * DAY);
        std::fs::create_dir(dir.path().join("vet")).unwrap();

        let pruned = prune(dir.path(), 250, &stored).unwrap();
        assert_eq!(pruned, Pruned { removed: 2, freed: 200 });
        assert!(!oldest.exists() && !old_surface.exists(), "the two oldest entries go");
        assert!(recent.exists() && stored.exists(), "the newer entries stay");
        assert!(
            other.exists() && dir.path().join("vet").is_dir(),
            "files that are not entries are never touched"
        );

        assert_eq!(
            prune(dir.path(), 250, &stored).unwrap(),
            Pruned { removed: 0, freed: 0 },
            "within its budget"
        );
    }

    #[test]
    fn temporary_files_of_writes_unfinished_for_an_hour_go_whatever_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let stored = aged(dir.path(), "a-1.cwasm", 100, Duration::ZERO);
        let abandoned = aged(dir.path(), ".tmpAb12Cd", 4000, 2 * UNFINISHED_AFTER);
        let in_progress = aged(dir.path(), ".tmpXy34Zw", 4000, Duration::from_secs(60));
        let lookalike = aged(dir.path(), ".tmp-notes", 10, 9 * DAY);
        // Written by write_atomically itself, then abandoned.
        let mut real = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        std::io::Write::write_all(&mut real, &[0u8; 50]).unwrap();
        let (_, real) = real.keep().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&real)
            .unwrap()
            .set_modified(SystemTime::now() - DAY)
            .unwrap();

        assert_eq!(prune(dir.path(), 1 << 30, &stored).unwrap(), Pruned { removed: 2, freed: 4050 });
        assert!(!abandoned.exists() && !real.exists(), "unfinished writes an hour old go");
        assert!(in_progress.exists(), "a write that may still be going on stays");
        assert!(lookalike.exists() && stored.exists(), "nothing else is touched");
    }

    #[test]
    fn the_entry_just_stored_stays_even_alone_over_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let older = aged(dir.path(), "a-1.cwasm", 100, DAY);
        // Stored now, but with an older time (a clock set back): still kept.
        let stored = aged(dir.path(), "b-1.cwasm", 500, 2 * DAY);
        assert_eq!(prune(dir.path(), 200, &stored).unwrap(), Pruned { removed: 1, freed: 100 });
        assert!(!older.exists() && stored.exists());
    }

    #[test]
    fn a_hit_on_an_entry_last_used_over_a_day_ago_moves_it_to_the_back() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let stale = aged(dir.path(), "a-1.cwasm", 10, 2 * DAY);
        let fresh = aged(dir.path(), "b-1.cwasm", 10, DAY / 2);
        for entry in [&stale, &fresh] {
            refresh_if_stale(entry, &std::fs::metadata(entry).unwrap(), now);
        }
        let modified = |entry: &Path| std::fs::metadata(entry).unwrap().modified().unwrap();
        assert_eq!(modified(&stale), now, "refreshed");
        assert!(
            now.duration_since(modified(&fresh)).unwrap() >= DAY / 2 - Duration::from_secs(1),
            "left alone: no write while serving"
        );
    }
}

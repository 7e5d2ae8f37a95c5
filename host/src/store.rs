//! The file operations every file moat writes goes through (the compile and
//! surface caches, the digest memo, the vet cache, `moat.lock`, `moat.toml`
//! edits, keys, signatures, pulled components): directories private to the
//! user, and files written whole or not at all, durably.
//!
//! A file is written to a temporary file in its own directory, flushed to
//! disk, renamed over its name, and the directory is flushed: a moat killed
//! at any point (or a machine that loses power) leaves the old file or the
//! new one, never part of either, and a temporary file at worst (the compile
//! cache's prune removes those).

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

/// The compile cache's size when the config sets none (`[server] cache_max_size`).
pub const DEFAULT_CACHE_BUDGET: u64 = 2 << 30;

/// Writes `bytes` to `path` whole or not at all, and durably. An existing
/// file keeps its permissions; a new one is private to the user (0600).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(metadata) => write_atomically_as(path, bytes, metadata.permissions()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            write_atomically_as(path, bytes, Permissions::from_mode(0o600))
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// [`write_atomically`], the file ending with `permissions`.
pub fn write_atomically_as(path: &Path, bytes: &[u8], permissions: Permissions) -> Result<()> {
    let temp = written_temp(path, bytes, permissions)?;
    temp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    sync_dir(path)
}

/// Writes `bytes` to a new file `path` with `mode`, whole or not at all, and
/// durably; an existing `path` is never replaced, and is an error.
pub fn create_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let temp = written_temp(path, bytes, Permissions::from_mode(mode))?;
    temp.persist_noclobber(path).map_err(|error| error.error).with_context(|| {
        if path.exists() {
            format!("{} exists; refusing to replace it", path.display())
        } else {
            format!("cannot create {}", path.display())
        }
    })?;
    sync_dir(path)
}

/// A temporary file beside `path` holding `bytes` on disk, with `permissions`.
fn written_temp(path: &Path, bytes: &[u8], permissions: Permissions) -> Result<tempfile::NamedTempFile> {
    let dir = parent(path);
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write to {}", dir.display()))?;
    let cannot = || format!("cannot write {}", path.display());
    temp.write_all(bytes).with_context(cannot)?;
    temp.as_file().set_permissions(permissions).with_context(cannot)?;
    temp.as_file().sync_all().with_context(cannot)?;
    Ok(temp)
}

/// Flushes the directory holding `path`, so that its new name is on disk too.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = parent(path);
    File::open(dir).and_then(|dir| dir.sync_all()).with_context(|| format!("cannot flush {}", dir.display()))
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Creates a store directory (and its parents) private to the user.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_keeps_the_mode_and_a_new_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("moat.toml");
        write_atomically(&path, b"one").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }

    #[test]
    fn a_created_file_never_replaces_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("me.key");
        create_atomically(&path, b"first", 0o600).unwrap();
        let error = format!("{:#}", create_atomically(&path, b"second", 0o600).unwrap_err());
        assert!(error.contains("exists; refusing to replace it"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }
}

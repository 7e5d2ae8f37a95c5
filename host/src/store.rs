//! The file operations every on-disk store of moat shares (the compile and
//! surface caches, the digest memo, the vet cache): directories private to
//! the user, and entries written whole or not at all.

use std::path::Path;

use anyhow::Result;

/// The compile cache's size when the config sets none (`[server] cache_max_size`).
pub const DEFAULT_CACHE_BUDGET: u64 = 2 << 30;

/// Writes `bytes` to `entry` through a temporary file in the same directory,
/// so a reader sees the old entry or the new one, never part of one.
pub fn write_atomically(entry: &Path, bytes: &[u8]) -> Result<()> {
    let dir = entry.parent().expect("store entries live in a directory");
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(entry)?;
    Ok(())
}

/// Creates a store directory (and its parents) private to the user.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

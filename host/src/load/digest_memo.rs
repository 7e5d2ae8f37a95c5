//! Digests of component files remembered by file identity, so that a restart
//! with unchanged files neither reads nor hashes them again.
//!
//! A file's identity is its device, inode, size, and modification and change
//! times. Writing to the file, or putting another file in its place, changes
//! its change time (ctime), which no unprivileged process can set back. An
//! identity is remembered only when it did not change while the file was read,
//! and when the ctime is older than [`SETTLED`]: timestamps are coarse, and a
//! write in the same tick as the read would leave them equal.
//!
//! A remembered digest only ever selects the cached compiled form and surface
//! of that digest, which were made from bytes that were hashed: even a file
//! changed without its identity changing could not get its new bytes run.
//! The memo lives in the compile cache directory (0700), trusted as the
//! compiled code beside it is.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{create_private_dir, write_atomically};

/// How old a file's last change must be before its identity is trusted.
pub const SETTLED: Duration = Duration::from_secs(2);

/// Who a file is, as far as its contents go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
}

impl Identity {
    #[cfg(unix)]
    fn of(metadata: &std::fs::Metadata) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt;
        let ns = |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        Some(Identity {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified_ns: ns(metadata.mtime(), metadata.mtime_nsec()),
            changed_ns: ns(metadata.ctime(), metadata.ctime_nsec()),
        })
    }

    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> Option<Identity> {
        None
    }

    fn settled(&self, now: SystemTime) -> bool {
        let now = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
        now - self.changed_ns > SETTLED.as_nanos() as i128
    }
}

/// Reads the file at `path`: its bytes, and its identity when it may be
/// remembered (it did not change while it was read, and it had settled).
pub fn read(path: &Path) -> Result<(Vec<u8>, Option<Identity>)> {
    let context = || format!("cannot read {}", path.display());
    let mut file = std::fs::File::open(path).with_context(context)?;
    let before = file.metadata().with_context(context)?;
    let mut bytes = Vec::with_capacity(before.len() as usize);
    file.read_to_end(&mut bytes).with_context(context)?;
    let after = file.metadata().with_context(context)?;
    let identity = Identity::of(&before).filter(|identity| {
        Identity::of(&after).as_ref() == Some(identity) && identity.settled(SystemTime::now())
    });
    Ok((bytes, identity))
}

#[derive(Serialize, Deserialize)]
struct Remembered {
    path: PathBuf,
    identity: Identity,
    digest: String,
}

/// The remembered digests, one small file per component path.
pub struct DigestMemo {
    dir: PathBuf,
}

impl DigestMemo {
    /// A memo under `dir`, or none when it cannot be created.
    pub fn new(dir: &Path) -> Option<DigestMemo> {
        create_private_dir(dir).ok()?;
        Some(DigestMemo { dir: dir.to_path_buf() })
    }

    fn entry(&self, path: &Path) -> PathBuf {
        let key = Sha256::digest(path.as_os_str().as_encoded_bytes());
        self.dir.join(format!("{}.json", hex::encode(&key[..16])))
    }

    /// The digest the file at `path` had when it was last read, if it is
    /// still the same file, unchanged.
    pub fn get(&self, path: &Path) -> Option<String> {
        let identity = Identity::of(&std::fs::metadata(path).ok()?)?;
        let text = std::fs::read(self.entry(path)).ok()?;
        let remembered: Remembered = serde_json::from_slice(&text).ok()?;
        (remembered.path == path && remembered.identity == identity).then_some(remembered.digest)
    }

    /// Remembers `digest` for the file read from `path`, when it had an
    /// identity to remember.
    pub fn put(&self, path: &Path, identity: Option<Identity>, digest: &str) {
        let Some(identity) = identity else { return };
        let remembered = Remembered { path: path.to_path_buf(), identity, digest: digest.to_string() };
        let bytes = serde_json::to_vec(&remembered).expect("a memo entry serialises");
        // A memo that cannot be written costs a hash at the next start, nothing more.
        let _ = write_atomically(&self.entry(path), &bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_just_now_is_not_remembered_and_an_older_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool.wasm");
        std::fs::write(&path, b"v1").unwrap();
        let (bytes, identity) = read(&path).unwrap();
        assert_eq!(bytes, b"v1");
        assert!(identity.is_none(), "its ctime is within SETTLED of now");

        let identity = Identity::of(&std::fs::metadata(&path).unwrap()).unwrap();
        assert!(!identity.settled(SystemTime::now()));
        assert!(identity.settled(SystemTime::now() + SETTLED + Duration::from_millis(10)));
    }

    #[test]
    fn a_remembered_digest_is_given_only_for_the_same_unchanged_file() {
        let dir = tempfile::tempdir().unwrap();
        let memo = DigestMemo::new(&dir.path().join("digests")).unwrap();
        let path = dir.path().join("tool.wasm");
        std::fs::write(&path, b"v1").unwrap();
        let identity = Identity::of(&std::fs::metadata(&path).unwrap());
        memo.put(&path, identity, "sha256:v1");
        assert_eq!(memo.get(&path).as_deref(), Some("sha256:v1"));
        assert_eq!(memo.get(&dir.path().join("other.wasm")), None);

        // Later than the coarse timestamp tick of the first write (see SETTLED).
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&path, b"v2").unwrap();
        assert_eq!(memo.get(&path), None, "rewritten in place: same inode and size, new ctime");
    }
}

//! `moat.lock`: any text gives a lock or an error; what moat reads it can
//! write back and read again to the same approval.

use moat::lock::LockFile;

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(lock) = LockFile::parse(text) else { return };
    let written = lock.to_text().expect("a lock that was read can be written");
    let again = LockFile::parse(&written).expect("what moat writes, moat reads");
    assert_eq!(again.to_text().unwrap(), written, "the lock's text is canonical");
}

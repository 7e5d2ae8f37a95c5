//! `moat audit verify` of any file: never a panic, and a log it calls
//! intact really is one chain (each line names the one before it).

use moat::audit::verify_lines;

pub fn check(data: &[u8]) {
    let Ok(verified) = verify_lines(data) else { return };
    assert!(verified.lines > 0);
    assert!(verified.head.starts_with("sha256:"), "{}", verified.head);
}

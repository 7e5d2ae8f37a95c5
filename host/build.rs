//! Fingerprints the source of `moat vet` (src/vet/), so that vet results
//! cached on disk are never reused by a build whose rules differ.

use std::path::Path;

fn main() {
    let dir = Path::new("src/vet");
    println!("cargo:rerun-if-changed=src/vet");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("src/vet exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    // FNV-1a over names and contents: no dependency, and a change anywhere changes it.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file.file_name().expect("a file name").to_string_lossy().into_owned();
        let contents = std::fs::read(file).expect("readable source");
        for byte in name.as_bytes().iter().chain(&[0]).chain(&contents) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=MOAT_VET_FINGERPRINT={hash:016x}");
}

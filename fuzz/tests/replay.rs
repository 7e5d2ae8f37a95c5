//! Replays every committed seed (`corpus/TARGET/`) and every input the
//! fuzzer once crashed on (`regressions/TARGET/`) through its target's
//! check, without the fuzzer: a crash that was fixed stays fixed.

use std::path::Path;

#[test]
fn every_seed_and_every_fixed_crash_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (target, check) in moat_fuzz::TARGETS {
        for folder in ["corpus", "regressions"] {
            let dir = root.join(folder).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.file_name().is_some_and(|name| name == ".gitkeep") {
                    continue;
                }
                let input = std::fs::read(&path).unwrap();
                eprintln!("{target}: {}", path.display());
                check(&input);
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0, "there are seeds to replay");
}

//! The checks behind moat's fuzz targets: one module per target, each a
//! `check(data)` that feeds raw input to one of the parsers an attacker
//! reaches, and asserts what must hold for every input (no panic, no stack
//! overflow, and the target's own property). `fuzz_targets/NAME.rs` runs
//! `NAME::check` under libFuzzer; `tests/replay.rs` replays every committed
//! seed and every crash the fuzzer found through the same function, in a
//! plain `cargo test`.

pub mod arguments;
pub mod audit_log;
pub mod bearer;
pub mod component_surface;
pub mod config;
pub mod doc_comment;
pub mod http_gate;
pub mod lock;
pub mod metadata_section;
pub mod stdio_line;
pub mod vet_definitions;
pub mod vet_text;
pub mod wit_docs;

/// A target's check of one input.
pub type Check = fn(&[u8]);

/// Every target, by the name of its file in `fuzz_targets/` and of its
/// folders in `corpus/` and `regressions/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("arguments", arguments::check),
    ("audit_log", audit_log::check),
    ("bearer", bearer::check),
    ("component_surface", component_surface::check),
    ("config", config::check),
    ("doc_comment", doc_comment::check),
    ("http_gate", http_gate::check),
    ("lock", lock::check),
    ("metadata_section", metadata_section::check),
    ("stdio_line", stdio_line::check),
    ("vet_definitions", vet_definitions::check),
    ("vet_text", vet_text::check),
    ("wit_docs", wit_docs::check),
];

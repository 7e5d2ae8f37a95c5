//! libFuzzer target: [`moat_fuzz::vet_text`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::vet_text::check(data));

//! libFuzzer target: [`moat_fuzz::vet_definitions`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::vet_definitions::check(data));

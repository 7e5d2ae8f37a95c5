//! libFuzzer target: [`moat_fuzz::lock`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::lock::check(data));

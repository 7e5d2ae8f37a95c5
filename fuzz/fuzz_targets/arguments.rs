//! libFuzzer target: [`moat_fuzz::arguments`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::arguments::check(data));

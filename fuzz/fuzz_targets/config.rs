//! libFuzzer target: [`moat_fuzz::config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::config::check(data));

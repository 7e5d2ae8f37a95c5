//! libFuzzer target: [`moat_fuzz::bearer`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::bearer::check(data));

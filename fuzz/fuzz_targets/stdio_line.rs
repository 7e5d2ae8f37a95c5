//! libFuzzer target: [`moat_fuzz::stdio_line`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::stdio_line::check(data));

//! libFuzzer target: [`moat_fuzz::http_gate`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::http_gate::check(data));

//! libFuzzer target: [`moat_fuzz::wit_docs`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::wit_docs::check(data));

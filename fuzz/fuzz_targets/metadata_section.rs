//! libFuzzer target: [`moat_fuzz::metadata_section`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::metadata_section::check(data));

//! libFuzzer target: [`moat_fuzz::doc_comment`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::doc_comment::check(data));

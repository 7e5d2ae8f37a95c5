//! libFuzzer target: [`moat_fuzz::audit_log`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::audit_log::check(data));

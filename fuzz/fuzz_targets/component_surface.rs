//! libFuzzer target: [`moat_fuzz::component_surface`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| moat_fuzz::component_surface::check(data));

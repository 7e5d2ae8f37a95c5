//! A component's surface read from its bytes without compiling it
//! ([`moat::component::decode`]), as `moat serve` lists tools before any
//! compile: whatever the bytes, reading them ends in a surface or an error
//! (no panic reaches moat), and a surface it reads makes tools or an error.
//!
//! wit-parser, which `decode` calls, panics on some components (an
//! `unreachable!` on type exports it cannot place); `decode` catches that
//! and says so, and moat then compiles the component to read its surface.
//! libFuzzer's panic hook would abort on the caught panic, so the hook is
//! silenced around the call: a panic anywhere else still aborts.

use moat::component::decode;
use moat::load::surface::component_tools;
use moat::tools::Naming;

pub fn check(data: &[u8]) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let decoded = decode(data, None);
    std::panic::set_hook(hook);
    if let Ok(surface) = decoded {
        let _ = component_tools(&Naming::new("fuzzed"), &surface);
    }
}

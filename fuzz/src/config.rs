//! `moat.toml`, a file a user edits by hand (and `moat add` edits): any
//! text gives a config or an error that says what and where; never a panic.

use std::path::Path;

use moat::config::Config;

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Relative paths lead nowhere: a file named by the config is not found.
    let _ = Config::parse(text, Path::new("/nonexistent/moat-fuzz"));
}

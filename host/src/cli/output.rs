//! A command's output on stdout: text lines through [`outln!`] and [`out!`]
//! (the commands' `println!` and `print!`), for a person; or, under
//! `--format json`, one JSON document through [`result`] and no text.
//! Severities are coloured for a terminal ([`paint`]). A reader that stops
//! early (`moat inspect tool.wasm | head`) ends the command quietly with status 141, as
//! SIGPIPE ends a Unix tool, where `println!` would panic: Rust ignores
//! SIGPIPE, so the write fails with a broken pipe instead. Any other failure
//! to write is reported on stderr, status 1.

use std::fmt;
use std::io::{ErrorKind, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// Chooses what stdout carries: JSON results only, or text lines only.
pub fn set_json(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

/// `--format json` is in force.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// A command's result for `--format json`, pretty-printed; nothing in text mode.
pub fn result(value: &serde_json::Value) {
    if json() {
        let text = serde_json::to_string_pretty(value).expect("a JSON value serialises");
        emit(format_args!("{text}"), true);
    }
}

/// Whether stdout takes colours: a terminal, with neither `NO_COLOR`
/// (no-color.org) set nor `TERM=dumb`; `CLICOLOR_FORCE` forces them.
pub fn colour() -> bool {
    static COLOUR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *COLOUR.get_or_init(|| {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        if set("CLICOLOR_FORCE") {
            return true;
        }
        std::io::stdout().is_terminal()
            && !set("NO_COLOR")
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    })
}

/// `text` in `style` when stdout takes colours, else as it is.
pub fn paint(text: &str, style: anstyle::Style) -> String {
    match colour() {
        true => format!("{}{text}{}", style.render(), style.render_reset()),
        false => text.to_owned(),
    }
}

/// The status of a command whose reader went away: 128 + SIGPIPE, what a
/// shell reports for a Unix tool the signal ended.
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Writes a text line: `args` (and a newline, when `newline`) to stdout,
/// flushed; nothing under `--format json`.
pub fn write(args: fmt::Arguments<'_>, newline: bool) {
    if !json() {
        emit(args, newline);
    }
}

fn emit(args: fmt::Arguments<'_>, newline: bool) {
    let written = super::progress::suspend(|| {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_fmt(args)
            .and_then(|()| if newline { stdout.write_all(b"\n") } else { Ok(()) })
            .and_then(|()| stdout.flush())
    });
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::BrokenPipe => std::process::exit(BROKEN_PIPE_STATUS),
        Err(error) => {
            eprintln!("error: cannot write to stdout: {error}");
            std::process::exit(1);
        }
    }
}

/// `println!` for a command's output ([`write`]).
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::output::write(format_args!($($arg)*), true) };
}

/// `print!` for a command's output ([`write`]).
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::write(format_args!($($arg)*), false) };
}

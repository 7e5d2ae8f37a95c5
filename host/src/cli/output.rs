//! A command's output on stdout, through [`outln!`] and [`out!`] (the
//! commands' `println!` and `print!`). A reader that stops early (`moat
//! inspect tool.wasm | head`) ends the command quietly with status 141, as
//! SIGPIPE ends a Unix tool, where `println!` would panic: Rust ignores
//! SIGPIPE, so the write fails with a broken pipe instead. Any other failure
//! to write is reported on stderr, status 1.

use std::fmt;
use std::io::{ErrorKind, Write};

/// The status of a command whose reader went away: 128 + SIGPIPE, what a
/// shell reports for a Unix tool the signal ended.
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Writes `args` (and a newline, when `newline`) to stdout, flushed.
pub fn write(args: fmt::Arguments<'_>, newline: bool) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| if newline { stdout.write_all(b"\n") } else { Ok(()) })
        .and_then(|()| stdout.flush());
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

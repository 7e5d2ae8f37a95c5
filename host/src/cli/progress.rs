//! Progress on stderr for long work a person waits for: components being
//! compiled, blobs pulled from and pushed to a registry, with their sizes.
//! Drawn only when stderr is a terminal (indicatif hides every bar
//! otherwise), so a client reading moat's stderr, a pipe or a log file sees
//! none of it. Log lines go through [`suspend`], which lifts the bars while a
//! line is written so the two never share a line.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::registry::{Moving, Watch};
use crate::served::Host;

static BARS: LazyLock<MultiProgress> =
    LazyLock::new(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));

/// Runs `write` with every bar lifted off the screen.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    BARS.suspend(write)
}

/// A stderr writer for the log that lifts the bars around each write.
pub struct BelowBars;

impl std::io::Write for BelowBars {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        suspend(|| std::io::stderr().write(bytes))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn spinner(message: String) -> ProgressBar {
    let bar = BARS.add(ProgressBar::new_spinner());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A spinner that counts the components still compiling, until none is.
pub fn while_compiling(host: Arc<Host>) {
    let total = host.compiling();
    if total == 0 || BARS.is_hidden() {
        return;
    }
    let noun = if total == 1 { "component" } else { "components" };
    let bar = spinner(format!("compiling {total} {noun}"));
    tokio::spawn(async move {
        loop {
            let left = host.compiling();
            if left == 0 {
                bar.finish_and_clear();
                return;
            }
            bar.set_message(format!("compiling {noun}: {} of {total} done", total - left));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

/// Bars for a registry's blobs: one per blob, in bytes when its size is known.
pub struct Transfers;

impl Watch for Transfers {
    fn start(&self, what: &str, bytes: Option<u64>) -> Box<dyn Moving> {
        let bar = match bytes {
            Some(total) => {
                let bar = BARS.add(ProgressBar::new(total));
                bar.set_style(
                    ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec})")
                        .expect("a valid template"),
                );
                bar.set_message(what.to_owned());
                bar
            }
            None => spinner(what.to_owned()),
        };
        Box::new(Bar(bar))
    }
}

/// A blob's bar, cleared when the blob is done.
struct Bar(ProgressBar);

impl Moving for Bar {
    fn reached(&self, bytes: u64) {
        self.0.set_position(bytes);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

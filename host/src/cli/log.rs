//! moat's log on stderr: the serving threads queue each line, and a thread of
//! its own (`moat-log`) writes them in batches.
//!
//! Owns: the queue and its bound (past it, lines are dropped and counted), the
//! writer thread, and the last words at exit (the count of dropped lines, then
//! what is still queued, waiting at most a second for a stderr nobody reads).
//!
//! Why not write from the serving threads: a client that pipes moat's stderr
//! and never reads it, or a stalled log collector, fills the pipe, and then
//! every thread that logs blocks, so moat would stop answering everyone. Why
//! batches rather than a line at a time (tracing-appender's non-blocking
//! writer): waking the writer for every line costs a sequential call 14–24 µs
//! of CPU on 2 cores (measured with `make bench`).
//! Here the writer, once awake, sleeps [`BATCH_EVERY`] after each write, and
//! only a line that finds it idle wakes it.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Lines that may wait (about 300 bytes each) before further lines are dropped.
pub const BACKLOG_LINES: usize = 4096;

/// How long the writer gathers lines after each write while moat is busy:
/// also the most a line waits then.
const BATCH_EVERY: Duration = Duration::from_millis(5);

/// How long exiting waits for the queue to be written.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(1);

/// The queue: a [`tracing_subscriber::fmt::MakeWriter`] whose writes are lines.
#[derive(Clone)]
pub struct LogQueue {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    queued: Vec<u8>,
    lines: usize,
    backlog: usize,
    dropped: u64,
    /// The writer waits for a line: the next one wakes it.
    idle: bool,
    /// Exiting: the writer writes what is queued, then stops.
    closing: bool,
    /// Exiting: the last words are taken past the bound.
    last_words: bool,
}

/// Keeps the writer thread; dropping it says how many lines were dropped and
/// writes what is queued, waiting at most [`FLUSH_AT_EXIT`].
pub struct LogWriter {
    shared: Arc<Shared>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A queue writing to `sink` from a thread of its own, holding at most
/// `backlog` lines.
pub fn spawn(sink: impl Write + Send + 'static, backlog: usize) -> std::io::Result<(LogQueue, LogWriter)> {
    let shared =
        Arc::new(Shared { state: Mutex::new(State { backlog, ..State::default() }), wake: Condvar::new() });
    let (done_tx, done) = std::sync::mpsc::channel();
    let writer = shared.clone();
    std::thread::Builder::new().name("moat-log".into()).spawn(move || {
        write_batches(&writer, sink);
        let _ = done_tx.send(());
    })?;
    Ok((LogQueue { shared: shared.clone() }, LogWriter { shared, done }))
}

fn write_batches(shared: &Shared, mut sink: impl Write) {
    loop {
        let (batch, closing) = {
            let mut state = shared.state();
            while state.queued.is_empty() && !state.closing {
                state.idle = true;
                state = shared.wake.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            state.lines = 0;
            (std::mem::take(&mut state.queued), state.closing)
        };
        // A failing stderr loses the batch; there is nowhere to report it.
        let _ = sink.write_all(&batch).and_then(|()| sink.flush());
        if closing {
            let rest = std::mem::take(&mut shared.state().queued);
            let _ = sink.write_all(&rest).and_then(|()| sink.flush());
            return;
        }
        std::thread::sleep(BATCH_EVERY);
    }
}

#[cfg(test)]
impl LogQueue {
    /// How many lines were dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.state().dropped
    }
}

/// Writing through a shared reference: the formatter borrows the queue for
/// each event, with no reference count to touch.
impl Write for &LogQueue {
    /// Queues `line` (the formatter writes each event in one call).
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut state = self.shared.state();
        if state.lines >= state.backlog && !state.last_words {
            state.dropped += 1;
            return Ok(line.len());
        }
        state.queued.extend_from_slice(line);
        state.lines += 1;
        let wake = std::mem::take(&mut state.idle);
        drop(state);
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogQueue {
    type Writer = &'a LogQueue;

    fn make_writer(&'a self) -> &'a LogQueue {
        self
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let dropped = {
            let mut state = self.shared.state();
            state.last_words = true;
            state.dropped
        };
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "log lines were dropped: stderr was not read as fast as moat wrote to it"
            );
        }
        self.shared.state().closing = true;
        self.shared.wake.notify_one();
        let _ = self.done.recv_timeout(FLUSH_AT_EXIT);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};

    use super::spawn;

    /// A sink that blocks every write until the test lets it go on, and keeps
    /// what was written.
    struct Gate {
        open: mpsc::Receiver<()>,
        written: Arc<Mutex<Vec<u8>>>,
        first: bool,
    }

    impl Write for Gate {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if self.first {
                self.first = false;
                let _ = self.open.recv();
            }
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_sink_never_blocks_a_line_and_what_is_over_the_bound_is_dropped_and_counted() {
        let (open, gate) = mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Gate { open: gate, written: written.clone(), first: true };
        let (queue, writer) = spawn(sink, 4).unwrap();
        // The first line reaches the stalled sink (the writer holds it); then
        // four wait; the rest are dropped. No write here may block: they run
        // on a thread of their own, and a write that blocked fails the test.
        (&queue).write_all(b"line 0\n").unwrap();
        while !queue.shared.state().queued.is_empty() {
            std::thread::yield_now();
        }
        let (wrote, done) = mpsc::channel();
        let lines = queue.clone();
        std::thread::spawn(move || {
            for i in 1..20 {
                (&lines).write_all(format!("line {i}\n").as_bytes()).unwrap();
            }
            wrote.send(()).unwrap();
        });
        done.recv_timeout(std::time::Duration::from_secs(10)).expect("a line blocked on the stalled sink");
        assert_eq!(queue.dropped(), 15, "four of the nineteen lines wait, fifteen are dropped");
        open.send(()).unwrap();
        drop(writer);
        let written = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(&lines[..5], ["line 0", "line 1", "line 2", "line 3", "line 4"], "in order:\n{written}");
        assert_eq!(lines.len(), 5, "nothing else without a subscriber:\n{written}");
    }

    #[test]
    fn every_line_is_written_in_order_by_exit() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (_never, gate) = mpsc::channel::<()>();
        let sink = Gate { open: gate, written: written.clone(), first: false };
        let (queue, writer) = spawn(sink, 10_000).unwrap();
        for i in 0..1000 {
            (&queue).write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(writer);
        let written = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(written, expected);
        assert_eq!(queue.dropped(), 0);
    }
}

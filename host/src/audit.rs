//! The audit log: one JSON line per call, append-only and hash-chained.
//!
//! Owns: the line format (sequence number, time, principal, tool, component
//! and its digest, a digest of the arguments — never the arguments —,
//! duration, fuel used, outcome), the chain (each line carries the hash of
//! the line before it and a hash of itself), appending under a lock, and
//! `moat audit verify`, which names the first line that was edited, removed,
//! inserted or moved. A chain cannot prove that its *last* lines were not cut
//! off by someone who can write the file: `verify` prints the head hash so it
//! can be recorded elsewhere and compared later.
//!
//! Each line is appended with one write, and flushed to disk before the call
//! returns when `[audit] fsync = true`. A moat killed in the middle of a
//! write can leave the last line unfinished (no newline). That line belongs
//! to a call whose answer was never sent (the record is written before the
//! answer); `verify` reports it apart from the chain, and the next `open`
//! removes it, with a warning, and goes on from the line before.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Map, Value, json};

use crate::canonical::{canonical, digest_of};

/// The `prev` of the first line.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What one call leaves in the audit log.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    pub principal: &'a str,
    pub tool: &'a str,
    pub component: &'a str,
    pub component_digest: &'a str,
    pub arguments: Option<&'a Map<String, Value>>,
    pub duration: Duration,
    pub fuel_used: Option<u64>,
    pub outcome: &'a str,
}

/// An open audit log, appended to by every call.
pub struct AuditLog {
    path: PathBuf,
    /// Flush each line to disk before the call returns.
    fsync: bool,
    state: Mutex<ChainState>,
}

struct ChainState {
    file: File,
    seq: u64,
    head: String,
}

impl AuditLog {
    /// Opens (or creates, mode 0600) the log and continues its chain. A log
    /// whose last complete line does not hold together is not appended to;
    /// an unfinished last line is removed first (see the module's comment).
    pub fn open(path: &Path, fsync: bool) -> Result<AuditLog> {
        let cannot_read = || format!("cannot read the audit log {}", path.display());
        let (seq, head) = match File::open(path) {
            Ok(file) => {
                let tail = read_tail(file).with_context(cannot_read)?;
                let mut last = match &tail.last_line {
                    Some(line) => check_line(line, None)
                        .with_context(|| format!("the audit log {} ends in a broken line", path.display()))?,
                    None => (0, GENESIS.to_string()),
                };
                if let Some(unfinished) = &tail.unfinished {
                    let file = OpenOptions::new().append(true).open(path).with_context(cannot_read)?;
                    let text = String::from_utf8_lossy(unfinished);
                    match check_line(text.trim_end(), Some((last.0, &last.1))) {
                        // Only its newline is missing.
                        Ok(checked) => {
                            (&file).write_all(b"\n").with_context(cannot_read)?;
                            last = checked;
                        }
                        Err(_) => {
                            tracing::warn!(
                                log = %path.display(),
                                bytes = unfinished.len(),
                                "the audit log ends in an unfinished line (a moat stopped while writing it); it is removed and the chain goes on from the line before"
                            );
                            file.set_len(tail.complete_len).with_context(cannot_read)?;
                        }
                    }
                    file.sync_all().with_context(cannot_read)?;
                }
                last
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, GENESIS.to_string()),
            Err(e) => return Err(e).with_context(cannot_read),
        };
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        if fsync {
            // The file's own name must survive a crash too.
            let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
            File::open(dir).and_then(|dir| dir.sync_all()).with_context(cannot_read)?;
        }
        Ok(AuditLog { path: path.to_path_buf(), fsync, state: Mutex::new(ChainState { file, seq, head }) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes every line appended so far to disk.
    pub fn sync(&self) -> Result<()> {
        let state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.file.sync_data().with_context(|| format!("cannot flush {}", self.path.display()))
    }

    /// Appends one line for `record`.
    pub fn record(&self, record: &AuditRecord<'_>) -> Result<()> {
        let arguments = Value::Object(record.arguments.cloned().unwrap_or_default());
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seq = state.seq + 1;
        let mut entry = json!({
            "seq": seq,
            "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            "principal": record.principal,
            "tool": record.tool,
            "component": record.component,
            "component_digest": record.component_digest,
            "arguments_digest": digest_of(&arguments),
            "duration_us": record.duration.as_micros() as u64,
            "fuel_used": record.fuel_used,
            "outcome": record.outcome,
            "prev": state.head,
        });
        let hash = digest_of(&entry);
        entry["hash"] = Value::String(hash.clone());
        let line = serde_json::to_string(&canonical(&entry))? + "\n";
        let cannot = || format!("cannot append to {}", self.path.display());
        state.file.write_all(line.as_bytes()).with_context(cannot)?;
        if self.fsync {
            state.file.sync_data().with_context(cannot)?;
        }
        state.seq = seq;
        state.head = hash;
        Ok(())
    }
}

/// The end of a log: its last complete line, and how much follows it unfinished.
struct Tail {
    last_line: Option<String>,
    /// Bytes up to and including the last newline.
    complete_len: u64,
    /// What follows the last newline (a write that never finished), unless blank.
    unfinished: Option<Vec<u8>>,
}

fn read_tail(file: File) -> std::io::Result<Tail> {
    let mut reader = BufReader::new(file);
    let mut tail = Tail { last_line: None, complete_len: 0, unfinished: None };
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(tail);
        }
        if line.last() != Some(&b'\n') {
            if !line.iter().all(u8::is_ascii_whitespace) {
                tail.unfinished = Some(std::mem::take(&mut line));
            }
            return Ok(tail);
        }
        tail.complete_len += read as u64;
        let text = String::from_utf8_lossy(&line);
        if !text.trim().is_empty() {
            tail.last_line = Some(text.trim_end().to_string());
        }
    }
}

/// Checks one line's own hash, and its link to `previous` (seq, hash) when
/// given; the line's seq and hash.
fn check_line(line: &str, previous: Option<(u64, &str)>) -> Result<(u64, String)> {
    let mut entry: Value = serde_json::from_str(line).context("not JSON")?;
    let object = entry.as_object_mut().context("not a JSON object")?;
    let hash = object.remove("hash").and_then(|h| h.as_str().map(String::from)).context("no hash")?;
    let seq = object.get("seq").and_then(Value::as_u64).context("no seq")?;
    let prev = object.get("prev").and_then(Value::as_str).context("no prev")?.to_string();
    ensure!(digest_of(&entry) == hash, "its content does not match its hash (edited)");
    if let Some((previous_seq, previous_hash)) = previous {
        ensure!(
            prev == previous_hash && seq == previous_seq + 1,
            "it does not follow line {previous_seq} (a line was removed, inserted or moved)"
        );
    }
    Ok((seq, hash))
}

/// What `moat audit verify` reports on success.
#[derive(Debug)]
pub struct Verified {
    pub lines: u64,
    /// The hash of the last line: record it elsewhere to detect truncation.
    pub head: String,
    /// Bytes of an unfinished last line (no newline, not a valid line): a
    /// write that never finished, outside the chain.
    pub unfinished: Option<u64>,
}

/// Verifies a whole log from its first line; the first broken line is an error naming it.
pub fn verify(path: &Path) -> Result<Verified> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    verify_lines(BufReader::new(file)).with_context(|| path.display().to_string())
}

/// [`verify`] of a log's text; errors name the line.
pub fn verify_lines(mut log: impl BufRead) -> Result<Verified> {
    let mut previous: (u64, String) = (0, GENESIS.to_string());
    let mut unfinished = None;
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = log.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        match check_line(text.trim_end(), Some((previous.0, &previous.1))) {
            Ok(checked) => previous = checked,
            // The last line, cut short: what a write that never finished leaves.
            Err(_) if line.last() != Some(&b'\n') => unfinished = Some(read as u64),
            Err(error) => return Err(error.context(format!("line {number}"))),
        }
    }
    if previous.0 == 0 {
        bail!("holds no audit lines");
    }
    Ok(Verified { lines: previous.0, head: previous.1, unfinished })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(log: &AuditLog, tool: &str) {
        let mut args = Map::new();
        args.insert("secret".into(), json!("do-not-log-me"));
        log.record(&AuditRecord {
            principal: "stdio",
            tool,
            component: "c",
            component_digest: "sha256:ab",
            arguments: Some(&args),
            duration: Duration::from_micros(42),
            fuel_used: Some(7),
            outcome: "ok",
        })
        .unwrap();
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path).unwrap().lines().map(String::from).collect()
    }

    #[test]
    fn the_chain_verifies_continues_and_catches_every_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, false).unwrap();
        for tool in ["c.a", "c.b", "c.c"] {
            record(&log, tool);
        }
        drop(log);
        // A new process continues the same chain.
        record(&AuditLog::open(&path, true).unwrap(), "c.d");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("do-not-log-me"), "arguments are digested, never written");
        let verified = verify(&path).unwrap();
        assert_eq!(verified.lines, 4);

        let original = lines(&path);
        let write = |lines: &[String]| std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let error_of = || format!("{:#}", verify(&path).unwrap_err());

        let mut edited = original.clone();
        edited[1] = edited[1].replace("c.b", "c.x");
        write(&edited);
        assert!(error_of().contains("line 2") && error_of().contains("edited"), "{}", error_of());

        let mut removed = original.clone();
        removed.remove(1);
        write(&removed);
        assert!(error_of().contains("line 2") && error_of().contains("removed"), "{}", error_of());

        let mut reordered = original.clone();
        reordered.swap(1, 2);
        write(&reordered);
        assert!(error_of().contains("line 2"), "{}", error_of());

        let mut first_removed = original.clone();
        first_removed.remove(0);
        write(&first_removed);
        assert!(error_of().contains("line 1"), "{}", error_of());

        write(&original);
        assert!(verify(&path).is_ok());
        // A log that ends in a broken line is not appended to.
        let mut broken = original.clone();
        broken[3] = broken[3].replace("\"ok\"", "\"failed\"");
        write(&broken);
        assert!(AuditLog::open(&path, false).is_err());
    }

    #[test]
    fn an_unfinished_last_line_is_outside_the_chain_and_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, false).unwrap();
        for tool in ["c.a", "c.b"] {
            record(&log, tool);
        }
        drop(log);
        let whole = std::fs::read_to_string(&path).unwrap();
        let second = whole.lines().nth(1).unwrap();
        // Every cut of the second line's write, but the whole line with its newline.
        for cut in 1..=second.len() {
            let cut_short = format!("{}{}", whole.lines().next().unwrap(), "\n") + &second[..cut];
            std::fs::write(&path, &cut_short).unwrap();
            let verified = verify(&path).unwrap();
            if cut == second.len() {
                assert_eq!((verified.lines, verified.unfinished), (2, None), "only the newline is missing");
                record(&AuditLog::open(&path, false).unwrap(), "c.c");
                assert_eq!(verify(&path).unwrap().lines, 3, "the line is kept and the chain goes on");
                continue;
            }
            assert_eq!(verified.lines, 1);
            assert_eq!(verified.unfinished, Some(cut as u64));
            record(&AuditLog::open(&path, false).unwrap(), "c.c");
            let verified = verify(&path).unwrap();
            assert_eq!((verified.lines, verified.unfinished), (2, None), "cut at {cut}");
            assert!(std::fs::read_to_string(&path).unwrap().contains("c.c"));
        }
    }
}

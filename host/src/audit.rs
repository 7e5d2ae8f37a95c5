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
    state: Mutex<ChainState>,
}

struct ChainState {
    file: File,
    seq: u64,
    head: String,
}

impl AuditLog {
    /// Opens (or creates, mode 0600) the log and continues its chain. A log
    /// whose last line does not hold together is not appended to.
    pub fn open(path: &Path) -> Result<AuditLog> {
        let (seq, head) = match File::open(path) {
            Ok(file) => match last_line(file)? {
                Some(line) => {
                    let (seq, hash) = check_line(&line, None)
                        .with_context(|| format!("the audit log {} ends in a broken line", path.display()))?;
                    (seq, hash)
                }
                None => (0, GENESIS.to_string()),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, GENESIS.to_string()),
            Err(e) => return Err(e).with_context(|| format!("cannot read the audit log {}", path.display())),
        };
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        Ok(AuditLog { path: path.to_path_buf(), state: Mutex::new(ChainState { file, seq, head }) })
    }

    pub fn path(&self) -> &Path {
        &self.path
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
        state
            .file
            .write_all(line.as_bytes())
            .with_context(|| format!("cannot append to {}", self.path.display()))?;
        state.seq = seq;
        state.head = hash;
        Ok(())
    }
}

fn last_line(file: File) -> Result<Option<String>> {
    let mut last = None;
    for line in BufReader::new(file).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            last = Some(line);
        }
    }
    Ok(last)
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
}

/// Verifies a whole log from its first line; the first broken line is an error naming it.
pub fn verify(path: &Path) -> Result<Verified> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut previous: (u64, String) = (0, GENESIS.to_string());
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        previous = check_line(&line, Some((previous.0, &previous.1)))
            .with_context(|| format!("{} line {}", path.display(), index + 1))?;
    }
    if previous.0 == 0 {
        bail!("{} holds no audit lines", path.display());
    }
    Ok(Verified { lines: previous.0, head: previous.1 })
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
        let log = AuditLog::open(&path).unwrap();
        for tool in ["c.a", "c.b", "c.c"] {
            record(&log, tool);
        }
        drop(log);
        // A new process continues the same chain.
        record(&AuditLog::open(&path).unwrap(), "c.d");
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
        assert!(AuditLog::open(&path).is_err());
    }
}

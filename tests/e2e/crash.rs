//! A moat killed (SIGKILL) at a random point while it writes loses nothing
//! that was written, and tears nothing: `moat.lock`, the `moat.toml` that
//! `moat add` edits, keys, the compile and vet caches, and the audit log.
//! Each test runs the writing command to its end once to learn the old and
//! new contents, then in a bounded loop kills it after a random delay about
//! that run's length and checks what is on disk. The delays come from a
//! seed printed by each test, so that a failure can be replayed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::oci::{LocalRegistry, keygen, os};
use crate::support::{MOAT, example, moat, stderr_of, stdout_of};

/// Kills per test: enough to land in every phase of a short command.
const ROUNDS: usize = 12;

/// Delays from a seed (xorshift), printed so that a failing run can be replayed.
struct Delays {
    state: u64,
}

impl Delays {
    fn new(test: &str) -> Delays {
        let seed = std::env::var("MOAT_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        println!("{test}: MOAT_CRASH_SEED={seed}");
        Delays { state: seed }
    }

    /// A delay in 0..=1.5 × `span`: a run killed on a busier machine than
    /// the one it was timed on is still killed late in its run at times.
    fn within(&mut self, span: Duration) -> Duration {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        span.mul_f64(1.5 * (self.state % 10_000) as f64 / 10_000.0)
    }
}

/// Starts `moat ARGS` and kills it (SIGKILL) after `delay`, unless it ended first.
fn killed_after(args: &[&std::ffi::OsStr], delay: Duration) {
    let mut child: Child = Command::new(MOAT)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn moat");
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// How long one run of `moat ARGS` takes, which must succeed.
fn timed(args: &[&std::ffi::OsStr]) -> Duration {
    let started = Instant::now();
    let output = moat(args);
    assert!(output.status.success(), "{}{}", stdout_of(&output), stderr_of(&output));
    started.elapsed()
}

fn refs(args: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    args.iter().map(|a| a.as_os_str()).collect()
}

fn read(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

#[test]
fn a_lock_written_while_killed_is_the_old_one_or_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let lock = dir.path().join("moat.lock");
    let component = |name: &str| format!("[components.{name}]\npath = {:?}\n", example(name));
    std::fs::write(&config, component("text")).unwrap();
    let args = [os("lock"), os("--config"), config.as_os_str()];
    timed(&args);
    let old = read(&lock).unwrap();
    std::fs::write(&config, component("text") + &component("units")).unwrap();
    let update = [os("lock"), os("--config"), config.as_os_str(), os("--update"), os("units")];
    let span = timed(&update);
    let new = read(&lock).unwrap();
    assert_ne!(old, new);

    let mut delays = Delays::new("lock");
    let mut seen = (0, 0);
    for round in 0..ROUNDS {
        std::fs::write(&lock, &old).unwrap();
        killed_after(&update, delays.within(span));
        let now = read(&lock).expect("the lock is never missing");
        assert!(
            now == old || now == new,
            "round {round}: a torn moat.lock:\n{}",
            String::from_utf8_lossy(&now)
        );
        if now == old { seen.0 += 1 } else { seen.1 += 1 }
    }
    println!("lock: {} rounds left the old lock, {} the new", seen.0, seen.1);
}

#[tokio::test]
async fn moat_add_killed_leaves_config_and_lock_whole_and_consistent() {
    let registry = LocalRegistry::start();
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = keygen(keys.path(), "publisher");
    for name in ["text", "units"] {
        let reference = registry.reference(&format!("tools/{name}:1.0.0"));
        let published = moat(&[
            os("publish"),
            example(name).as_os_str(),
            os(&reference),
            os("--key"),
            private.as_os_str(),
        ]);
        assert!(published.status.success(), "{}", stderr_of(&published));
    }
    let site = tempfile::tempdir().unwrap();
    let config = site.path().join("moat.toml");
    let lock = site.path().join("moat.lock");
    let add = |name: &str| -> Vec<std::ffi::OsString> {
        ["add", &registry.reference(&format!("tools/{name}:1.0.0")), "--key"]
            .iter()
            .map(|s| std::ffi::OsString::from(*s))
            .chain([public.clone().into_os_string(), "-c".into(), config.clone().into_os_string()])
            .collect()
    };
    timed(&refs(&add("text")));
    let (old_config, old_lock) = (read(&config).unwrap(), read(&lock).unwrap());
    let units_args = add("units");
    let units_args = refs(&units_args);
    let span = timed(&units_args);
    let (new_config, new_lock) = (read(&config).unwrap(), read(&lock).unwrap());
    assert_ne!(old_config, new_config);

    let mut delays = Delays::new("add");
    let mut seen = [0; 3];
    for round in 0..ROUNDS {
        std::fs::write(&config, &old_config).unwrap();
        std::fs::write(&lock, &old_lock).unwrap();
        killed_after(&units_args, delays.within(span));
        let (config_now, lock_now) = (read(&config).unwrap(), read(&lock).unwrap());
        assert!(
            config_now == old_config || config_now == new_config,
            "round {round}: a torn moat.toml:\n{}",
            String::from_utf8_lossy(&config_now)
        );
        assert!(
            lock_now == old_lock || lock_now == new_lock,
            "round {round}: a torn moat.lock:\n{}",
            String::from_utf8_lossy(&lock_now)
        );
        // The lock is written first: a config that names the component has its approval.
        assert!(config_now == old_config || lock_now == new_lock, "round {round}: an unapproved component");
        seen[usize::from(lock_now == new_lock) + usize::from(config_now == new_config)] += 1;
    }
    println!("add: {} rounds old, {} with the new lock only, {} new", seen[0], seen[1], seen[2]);
    // Whatever a kill left, the site still serves what it approved.
    std::fs::write(&config, &new_config).unwrap();
    std::fs::write(&lock, &new_lock).unwrap();
    let output = moat(&[os("lock"), os("--config"), config.as_os_str()]);
    assert!(stdout_of(&output).contains("units: unchanged"), "{}", stdout_of(&output));
}

#[test]
fn keys_made_while_killed_are_whole_or_absent() {
    let dir = tempfile::tempdir().unwrap();
    let span = timed(&[os("keygen"), dir.path().join("timing").as_os_str()]);
    let mut delays = Delays::new("keygen");
    let mut made = 0;
    for round in 0..ROUNDS {
        let prefix = dir.path().join(format!("key{round}"));
        killed_after(&[os("keygen"), prefix.as_os_str()], delays.within(span));
        let private = read(&PathBuf::from(format!("{}.key", prefix.display())));
        let public = read(&PathBuf::from(format!("{}.pub", prefix.display())));
        for (file, pem, kind) in [(".key", &private, "PRIVATE KEY"), (".pub", &public, "PUBLIC KEY")] {
            if let Some(pem) = pem {
                let pem = String::from_utf8_lossy(pem);
                assert!(
                    pem.starts_with(&format!("-----BEGIN {kind}-----\n"))
                        && pem.ends_with(&format!("-----END {kind}-----\n")),
                    "round {round}: a torn {file}:\n{pem}"
                );
            }
        }
        assert!(public.is_none() || private.is_some(), "round {round}: a public key without its private key");
        if public.is_some() {
            made += 1;
            let component = example("units");
            let signed = moat(&[
                os("sign"),
                component.as_os_str(),
                os("--key"),
                PathBuf::from(format!("{}.key", prefix.display())).as_os_str(),
                os("--output"),
                dir.path().join(format!("sig{round}")).as_os_str(),
            ]);
            assert!(signed.status.success(), "round {round}: {}", stderr_of(&signed));
        }
    }
    println!("keygen: {made} of {ROUNDS} rounds made a whole pair");
}

#[test]
fn caches_written_while_killed_hold_no_torn_entry() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let components = ["text", "units", "hash", "json-query"];
    let text: String = components
        .iter()
        .map(|name| {
            format!("[components.{}]\npath = {:?}\n", name.replace("json-query", "json"), example(name))
        })
        .collect();
    std::fs::write(&config, text).unwrap();
    // `moat call` loads (compiling into an empty cache), calls, and ends.
    let call = |cache: &Path| -> Vec<std::ffi::OsString> {
        [
            "call",
            "--cache-dir",
            cache.to_str().unwrap(),
            "-c",
            config.to_str().unwrap(),
            "units.units-of",
            r#"{"dimension": "length"}"#,
        ]
        .iter()
        .map(std::ffi::OsString::from)
        .collect()
    };
    let span = timed(&refs(&call(&dir.path().join("timing-cache"))));

    let mut delays = Delays::new("caches");
    for round in 0..ROUNDS {
        let cache = dir.path().join(format!("cache{round}"));
        let args = call(&cache);
        let args = refs(&args);
        killed_after(&args, delays.within(span));
        // Every entry the killed run left is whole: the JSON ones (surfaces,
        // digests, vet results) parse; the compiled ones load in the next run.
        for entry in files_under(&cache) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".tmp") {
                continue; // a write that never finished, never read (pruned later)
            }
            if name.ends_with(".json") {
                let bytes = std::fs::read(&entry).unwrap();
                assert!(
                    serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                    "round {round}: a torn cache entry {}",
                    entry.display()
                );
            }
        }
        let output = Command::new(MOAT).args(&args).env("RUST_LOG", "info").output().unwrap();
        let log = stderr_of(&output);
        assert!(output.status.success(), "round {round}: {log}");
        assert!(
            !log.contains("discarding unusable compile-cache entry"),
            "round {round}: a torn compiled entry:\n{log}"
        );
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() { files_under(&path) } else { vec![path] }
        })
        .collect()
}

#[tokio::test]
async fn an_audit_log_appended_while_killed_still_verifies_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(
        &config,
        format!(
            "[components.text]\npath = {:?}\n[audit]\npath = \"audit.jsonl\"\nfsync = true\n",
            example("text")
        ),
    )
    .unwrap();
    let serve = |calls: usize| -> Child {
        let mut child = Command::new(MOAT)
            .args([os("serve"), os("--config"), config.as_os_str()])
            .arg("--cache-dir")
            .arg(crate::support::shared_cache())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        // Answers are read and dropped, so that moat never waits on its stdout.
        std::thread::spawn(move || std::io::copy(&mut std::io::BufReader::new(stdout), &mut std::io::sink()));
        std::thread::spawn(move || {
            use std::io::Write;
            let mut lines = vec![
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            ];
            for id in 1..=calls {
                lines.push(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "text.word-count", "arguments": {"text": "a b c"}}}));
            }
            for line in lines {
                if writeln!(stdin, "{line}").is_err() {
                    return;
                }
            }
            // stdin stays open until moat ends: it exits when its input closes.
            std::thread::sleep(Duration::from_secs(600));
        });
        child
    };
    let verified = |round: usize| -> (u64, bool) {
        let output = moat(&[os("audit"), os("verify"), audit.as_os_str()]);
        assert!(output.status.success(), "round {round}: {}", stderr_of(&output));
        let text = stdout_of(&output);
        let lines = text.split(": ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().parse().unwrap();
        (lines, text.contains("unfinished line"))
    };

    // One run of 200 calls, for the span of the kills.
    let started = Instant::now();
    let mut child = serve(200);
    while verified_lines(&audit) < 200 {
        assert!(started.elapsed() < Duration::from_secs(120), "200 calls were not audited");
        std::thread::sleep(Duration::from_millis(20));
    }
    let span = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();

    let mut delays = Delays::new("audit");
    let mut lines = verified(0).0;
    let mut unfinished = 0;
    for round in 1..=ROUNDS {
        let mut child = serve(200);
        std::thread::sleep(delays.within(span));
        let _ = child.kill();
        let _ = child.wait();
        let (now, cut) = verified(round);
        assert!(now >= lines, "round {round}: lines were lost ({lines} → {now})");
        unfinished += usize::from(cut);
        lines = now;
    }
    // A last run goes on from the chain the kills left, and ends it whole.
    let mut child = serve(1);
    while verified_lines(&audit) < lines + 1 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (last, cut) = verified(ROUNDS + 1);
    assert_eq!(last, lines + 1);
    assert!(!cut, "an unfinished line is removed when the log is opened again");
    println!("audit: {lines} lines over {ROUNDS} kills, {unfinished} of them cut a line short");
}

/// The complete lines of an audit log so far.
fn verified_lines(audit: &Path) -> u64 {
    std::fs::read(audit).map_or(0, |bytes| bytes.iter().filter(|b| **b == b'\n').count() as u64)
}

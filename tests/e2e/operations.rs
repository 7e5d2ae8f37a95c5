//! Running moat for an operator: the probes (`/healthz`, `/readyz`) any
//! orchestrator may ask, Prometheus `/metrics` on a bind of its own, JSON
//! log lines, and stopping on SIGTERM: no new connection, what is in flight
//! answered (or, past the drain deadline, cancelled with its audit record),
//! the audit log flushed, exit status 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::http::{BOB, HttpMoat};
use crate::support::{MOAT, example, shared_cache, writeln_message};

/// A GET of `path` on `address` with `host` as the Host header: status and whole answer.
pub(crate) fn get(address: &str, host: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    (answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), answer)
}

/// `/readyz` asked until it answers 200 (at most two minutes); every other
/// answer on the way must be 503 `compiling`. The last answer.
pub(crate) fn ready(address: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, answer) = get(address, "localhost", "/readyz");
        if status == 200 {
            return answer;
        }
        assert_eq!(status, 503, "{answer}");
        assert!(answer.ends_with("\r\n\r\ncompiling"), "{answer}");
        assert!(std::time::Instant::now() < deadline, "not ready in two minutes: {answer}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The address in the log line `serving metrics url=http://ADDRESS/metrics`.
fn metrics_address(log: &str) -> String {
    log.lines()
        .find_map(|line| line.split("url=http://").nth(1).filter(|_| line.contains("serving metrics")))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no metrics address in the log:\n{log}"))
        .to_string()
}

fn bob(moat: &HttpMoat) -> StreamableHttpClientTransport<reqwest::Client> {
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(moat.url()).auth_header(BOB),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_metrics_and_a_sigterm_that_answers_what_is_in_flight() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let audit = tempfile::tempdir().unwrap();
    let audit_log = audit.path().join("audit.jsonl");
    let mut moat = HttpMoat::start(&format!(
        "[components.hostile]\npath = {:?}\nlimits = {{ wall_clock = \"60s\" }}\n\n\
         [server]\nmetrics = \"127.0.0.1:0\"\ndrain_timeout = \"30s\"\n\n[audit]\npath = {:?}\n",
        example("hostile"),
        audit_log
    ))
    .await;
    let address = moat.address().to_string();

    // The probes answer whatever the Host, without a credential, with one word.
    let (status, answer) = get(&address, "10.1.2.3:8787", "/healthz");
    assert_eq!(status, 200, "{answer}");
    assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    // Ready once its components are linked (until then: 503 "compiling").
    let answer = ready(&address);
    assert!(answer.ends_with("\r\n\r\nready"), "{answer}");
    let (status, _) = get(&address, &address, "/metrics");
    assert_eq!(status, 404, "metrics are never on the MCP bind");

    // Metrics count calls by tool and outcome, and refusals by reason.
    let client = ClientConfig::default().serve(bob(&moat)).await.expect("bob's session");
    let counted = client
        .call_tool(
            CallToolRequestParams::new("text.word-count")
                .with_arguments(json!({"text": "one two"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert!(format!("{counted:?}").contains('2'));
    let (status, _) = moat.raw("POST", "/mcp", &[], "{}");
    assert_eq!(status, 401);
    let metrics_at = metrics_address(&moat.log());
    let (status, metrics) = get(&metrics_at, &metrics_at, "/metrics");
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.contains(r#"moat_calls_total{tool="text.word-count",outcome="ok"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"moat_http_refusals_total{reason="unauthenticated"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"moat_call_duration_seconds_count{tool="text.word-count"} 1"#), "{metrics}");
    assert!(!metrics.contains(BOB) && !metrics.contains("bob"), "no principal in the metrics");

    // A call is in flight when SIGTERM comes: it is answered, then moat exits 0.
    let slow = tokio::spawn(async move {
        client
            .call_tool(
                CallToolRequestParams::new("hostile.sleep")
                    .with_arguments(json!({"seconds": 2}).as_object().unwrap().clone()),
            )
            .await
    });
    let mut during = String::new();
    for _ in 0..200 {
        during = get(&metrics_at, &metrics_at, "/metrics").1;
        if during.contains("moat_calls_in_flight 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Each component's slots: the one running the call has it running.
    assert!(during.contains(r#"moat_component_calls_running{component="hostile"} 1"#), "{during}");
    assert!(during.contains(r#"moat_component_calls_running{component="text"} 0"#), "{during}");
    assert!(during.contains(r#"moat_component_calls_waiting{component="hostile"} 0"#), "{during}");
    assert!(during.contains(r#"moat_component_slots{component="hostile"} "#), "{during}");
    let status = moat.terminate().await;
    assert!(status.success(), "a stopped moat exits 0: {status}\n{}", moat.log());
    let answered = slow.await.unwrap().expect("the call in flight is answered");
    assert!(!answered.is_error.unwrap_or(false), "{answered:?}");
    assert!(TcpStream::connect(&address).is_err(), "no new connection once stopped");
    let log = moat.settled_log().await;
    for line in ["signal=\"SIGTERM\"", "stopping", "drained", "stopped"] {
        assert!(log.contains(line), "{line} is in the log:\n{log}");
    }
    let audit = std::fs::read_to_string(&audit_log).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"hostile.sleep\"") && l.contains("\"ok\"")), "{audit}");
}

/// Over stdio: a call past the drain deadline is cancelled, and keeps its
/// audit record; one within it is answered.
#[test]
fn sigterm_over_stdio_drains_then_cancels_with_the_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    std::fs::write(
        &config,
        format!(
            "[components.hostile]\npath = {:?}\nlimits = {{ wall_clock = \"60s\" }}\n\n\
             [server]\ndrain_timeout = \"2s\"\n\n[audit]\npath = \"audit.jsonl\"\n",
            example("hostile")
        ),
    )
    .unwrap();
    let mut child = Command::new(MOAT)
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--cache-dir")
        .arg(shared_cache())
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = String::new();
    while !log.contains("serving MCP on stdio") {
        log.push_str(&rx.recv_timeout(Duration::from_secs(60)).expect("moat serves"));
        log.push('\n');
    }
    for message in [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "hostile.sleep", "arguments": {"seconds": 1}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "hostile.sleep", "arguments": {"seconds": 30}}}),
    ] {
        writeln_message(&mut stdin, &message);
    }
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let initialized = stdout.next().unwrap().unwrap();
    assert!(initialized.contains("\"id\":0"), "{initialized}");
    std::thread::sleep(Duration::from_millis(300));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let answers: Vec<Value> =
        stdout.map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect();
    let status = child.wait().unwrap();
    for line in rx.try_iter() {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(status.success(), "exit 0 after SIGTERM: {status}\n{log}");
    let first = answers.iter().find(|a| a["id"] == 1).unwrap_or_else(|| panic!("{answers:?}\n{log}"));
    assert_eq!(first["result"]["isError"], json!(false), "the call within the deadline is answered: {first}");
    assert!(log.contains("the calls still running are cancelled"), "{log}");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let outcomes: Vec<Value> =
        audit.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["outcome"].clone()).collect();
    assert_eq!(outcomes, [json!("ok"), json!("cancelled")], "each call has its record:\n{audit}");
    drop(stdin);
}

#[test]
fn json_log_lines_are_each_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    std::fs::write(&config, format!("[components.text]\npath = {:?}\n", example("text"))).unwrap();
    let output = Command::new(MOAT)
        .args(["--log-format", "json", "call", "--cache-dir"])
        .arg(shared_cache())
        .arg("-c")
        .arg(&config)
        .args(["text.word-count", r#"{"text": "a b"}"#])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(!lines.is_empty());
    let call = lines.iter().find(|l| l["tool"] == "text.word-count").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(call["level"], "INFO");
    assert_eq!(call["outcome"], "ok");
    assert!(call["timestamp"].is_string() && call["message"].is_string(), "{call}");
}

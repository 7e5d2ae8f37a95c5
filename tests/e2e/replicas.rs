//! Replicas behind a real load balancer: HAProxy (Debian's package) in front
//! of three `moat serve --http` processes, all on 127.0.0.1.
//!
//! 2026-07-28 stateless calls go to any replica and survive one replica
//! killed in the middle of the run: only calls in flight when it died fail,
//! and none runs twice (checked in the replicas' own audit chains, one per
//! replica). 2025-11-25 sessions stick to the replica that created them by
//! `Mcp-Session-Id`; a session whose replica died is gone, and its client
//! starts a new one, as the spec has it.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::http::{BOB, HttpMoat};
use crate::support::MOAT;

/// `haproxy -db` over `backends`, on a free loopback port, with the
/// configuration moat ships (`deploy/haproxy/moat.cfg`): round robin per
/// request, a replica taken out when `/readyz` fails, a request whose
/// connection to a replica fails sent to another (only then: a request a
/// replica may have run is never sent twice), and a session stuck to the
/// replica whose answer carried its `Mcp-Session-Id`.
struct Haproxy {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
}

impl Haproxy {
    fn start(backends: &[&str]) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let address = format!("127.0.0.1:{}", free_port());
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, backend)| format!("    server replica{i} {backend} check inter 100ms fall 1 rise 2\n"))
            .collect();
        let template =
            std::fs::read_to_string(crate::support::repo_root().join("deploy/haproxy/moat.cfg")).unwrap();
        let config = template.replace("@FRONTEND@", &address).replace("@SERVERS@", &servers);
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let binary = haproxy_binary();
        let check = Command::new(&binary).args(["-c", "-f"]).arg(&path).output().unwrap();
        assert!(
            check.status.success(),
            "haproxy refuses the config: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(&binary)
            .args(["-db", "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("haproxy.log")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen on {address}");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Two checks in a row (rise 2) make every replica up.
        std::thread::sleep(Duration::from_millis(400));
        Haproxy { child, address, dir }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.address)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn haproxy_binary() -> String {
    ["haproxy", "/usr/sbin/haproxy"]
        .into_iter()
        .find(|binary| Command::new(binary).arg("-v").output().is_ok_and(|o| o.status.success()))
        .expect("haproxy is not installed: `make deps` (the README's test command) installs Debian's haproxy")
        .to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Three replicas of one config, each with its own audit chain.
async fn replicas(audit: &std::path::Path) -> Vec<HttpMoat> {
    let start = |i: usize| {
        let log = audit.join(format!("replica{i}.jsonl"));
        async move { HttpMoat::start(&format!("[audit]\npath = {:?}", log.to_str().unwrap())).await }
    };
    let (a, b, c) = tokio::join!(start(0), start(1), start(2));
    vec![a, b, c]
}

/// Three replicas (each auditing into `audit`) and HAProxy in front of them.
async fn behind_haproxy(audit: &std::path::Path) -> (Vec<HttpMoat>, Haproxy) {
    let replicas = replicas(audit).await;
    let addresses: Vec<&str> = replicas.iter().map(HttpMoat::address).collect();
    let haproxy = Haproxy::start(&addresses);
    (replicas, haproxy)
}

/// The audit records of each replica's log, a torn last line (a killed
/// replica's) left out.
fn audit_records(audit: &std::path::Path, replicas: usize) -> Vec<Vec<Value>> {
    (0..replicas)
        .map(|i| {
            let text = std::fs::read_to_string(audit.join(format!("replica{i}.jsonl"))).unwrap_or_default();
            text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
        })
        .collect()
}

async fn stateless_client(url: String) -> RunningService<RoleClient, ClientConfig> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(BOB),
    );
    let mode = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
    ClientConfig::default().serve_with_lifecycle(transport, mode).await.expect("discover through haproxy")
}

async fn session_client(url: String) -> RunningService<RoleClient, ClientConfig> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(BOB),
    );
    let mut info = ClientConfig::default();
    info.protocol_version = ProtocolVersion::V_2025_11_25;
    info.serve(transport).await.expect("a session through haproxy")
}

/// Counts the words of `text`: true when the call was answered with the count.
async fn word_count(client: &RunningService<RoleClient, ClientConfig>, text: &str) -> bool {
    counted(client, text).await.map_err(|error| eprintln!("{text:?}: {error}")).is_ok()
}

async fn counted(client: &RunningService<RoleClient, ClientConfig>, text: &str) -> Result<(), String> {
    let words = text.split_whitespace().count();
    let call = CallToolRequestParams::new("text.word-count")
        .with_arguments(json!({ "text": text }).as_object().unwrap().clone());
    match tokio::time::timeout(Duration::from_secs(30), client.call_tool(call)).await {
        Ok(Ok(result))
            if result.is_error != Some(true) && format!("{result:?}").contains(&words.to_string()) =>
        {
            Ok(())
        }
        Ok(Ok(result)) => Err(format!("answered wrong: {result:?}")),
        Ok(Err(error)) => Err(format!("failed: {error}")),
        Err(_) => Err("no answer in 30 s".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_calls_survive_a_replica_killed_mid_run() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    const CLIENTS: usize = 6;
    const CALLS: usize = 60;
    let audit = tempfile::tempdir().unwrap();
    let (mut replicas, haproxy) = behind_haproxy(audit.path()).await;

    let done = Arc::new(AtomicUsize::new(0));
    let epoch = Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (url, done) = (haproxy.url(), done.clone());
        clients.push(tokio::spawn(async move {
            let mut session = stateless_client(url.clone()).await;
            // (call, started, ended, answered), times from the epoch.
            let mut calls = Vec::new();
            for call in 0..CALLS {
                // Unique arguments, so that each call has its own digest in the audit.
                let text = format!("client {client} call {call}{}", " word".repeat(call % 7));
                let started = epoch.elapsed();
                let answered = word_count(&session, &text).await;
                calls.push((call, started, epoch.elapsed(), answered));
                done.fetch_add(1, Ordering::SeqCst);
                if !answered {
                    // A failed request leaves nothing behind in a stateless era.
                    session = stateless_client(url.clone()).await;
                }
            }
            calls
        }));
    }
    while done.load(Ordering::SeqCst) < CLIENTS * CALLS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The replica dies between the signal and its reaping: a call in flight
    // on it is one that started before it was gone and ended after the signal.
    let killed_at = epoch.elapsed();
    replicas[1].kill().await;
    let gone_at = epoch.elapsed();
    let mut answered = 0;
    let mut after_the_kill = 0;
    let mut failed = Vec::new();
    for client in clients {
        for (call, started, ended, ok) in client.await.unwrap() {
            after_the_kill += usize::from(started > gone_at);
            if ok {
                answered += 1;
            } else {
                failed.push((call, started, ended));
            }
        }
    }

    for (call, started, ended) in &failed {
        assert!(
            *started <= gone_at && *ended >= killed_at,
            "call {call} ({started:?} to {ended:?}) failed but was not in flight when the replica died ({killed_at:?} to {gone_at:?})\nhaproxy:\n{}",
            haproxy.log()
        );
    }
    assert!(failed.len() <= CLIENTS, "{} calls failed; at most one per client was in flight", failed.len());
    assert!(after_the_kill >= CLIENTS * CALLS / 2, "only {after_the_kill} calls after the kill");

    let records = audit_records(audit.path(), 3);
    for (i, records) in records.iter().enumerate() {
        assert!(!records.is_empty(), "replica {i} served nothing: the balancer did not spread the calls");
    }
    let mut runs: HashMap<&str, usize> = HashMap::new();
    for record in records.iter().flatten().filter(|r| r["tool"] == "text.word-count") {
        *runs.entry(record["arguments_digest"].as_str().unwrap()).or_default() += 1;
    }
    assert!(
        runs.values().all(|&n| n == 1),
        "a call ran twice: {:?}",
        runs.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    // Every answered call ran exactly once; a failed one at most once (on the replica that died).
    assert!(
        runs.len() >= answered && runs.len() <= answered + failed.len(),
        "{} calls ran for {answered} answered and {} failed",
        runs.len(),
        failed.len()
    );

    // Each replica's chain verifies on its own, the killed one's too (a torn last line is outside the chain).
    let logs: Vec<_> = (0..3).map(|i| audit.path().join(format!("replica{i}.jsonl"))).collect();
    let verify = Command::new(MOAT).args(["audit", "verify"]).args(&logs).output().unwrap();
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{printed}{}", String::from_utf8_lossy(&verify.stderr));
    assert_eq!(printed.matches("chain intact").count(), 3, "{printed}");
}

/// One raw HTTP/1.1 POST of `body` to `/mcp` at `address`, as bob, in
/// `session` if given: the status and the whole response as text.
fn post(address: &str, session: Option<&str>, body: &Value) -> (u16, String) {
    post_as(BOB, address, session, body)
}

/// [`post`] with the bearer `token`.
fn post_as(token: &str, address: &str, session: Option<&str>, body: &Value) -> (u16, String) {
    use std::io::{Read, Write};
    let body = body.to_string();
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nAuthorization: Bearer {token}\r\n\
         MCP-Protocol-Version: 2025-11-25\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(session) = session {
        request.push_str(&format!("Mcp-Session-Id: {session}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    (response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), response)
}

/// A 2025-11-25 session opened with raw requests: its `Mcp-Session-Id`.
fn raw_session(address: &str) -> String {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let (status, response) = post(address, None, &initialize);
    assert_eq!(status, 200, "{response}");
    let session = response
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("mcp-session-id:"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, id)| id.trim().to_string())
        .unwrap_or_else(|| panic!("no session ID: {response}"));
    let (status, response) =
        post(address, Some(&session), &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(status, 202, "{response}");
    session
}

fn raw_word_count(address: &str, session: &str, text: &str) -> (u16, String) {
    post(
        address,
        Some(session),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "text.word-count", "arguments": {"text": text}}}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_stick_to_their_replica_and_end_with_it() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    const SESSIONS: usize = 6;
    const CALLS: usize = 10;
    let audit = tempfile::tempdir().unwrap();
    let (mut replicas, haproxy) = behind_haproxy(audit.path()).await;

    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        sessions.push(session_client(haproxy.url()).await);
    }
    // Round robin would send a session's requests to replicas that never saw
    // it (404): every call answered means every request found its replica.
    for round in 0..CALLS {
        for (i, session) in sessions.iter().enumerate() {
            assert!(
                word_count(session, &format!("session {i} round {round}")).await,
                "session {i}, call {round} was not answered\nhaproxy:\n{}",
                haproxy.log()
            );
        }
    }
    let served: Vec<usize> = audit_records(audit.path(), 3).iter().map(Vec::len).collect();
    assert!(
        served.iter().all(|&n| n > 0 && n % CALLS == 0),
        "sessions spread whole over the replicas: {served:?}"
    );

    // A raw session, to see what a client that does not start again sees:
    // found on its replica by its call in that replica's audit chain.
    let address = haproxy.address.clone();
    let raw = tokio::task::spawn_blocking(move || raw_session(&address)).await.unwrap();
    let address = haproxy.address.clone();
    let (status, response) = {
        let raw = raw.clone();
        tokio::task::spawn_blocking(move || raw_word_count(&address, &raw, "raw probe")).await.unwrap()
    };
    assert!(status == 200 && response.contains("result"), "{response}");
    let records = audit_records(audit.path(), 3);
    let home =
        (0..3).find(|&i| records[i].len() > served[i]).expect("the raw call is in one replica's chain");

    replicas[home].kill().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let address = haproxy.address.clone();
    let (status, response) =
        tokio::task::spawn_blocking(move || raw_word_count(&address, &raw, "raw probe again")).await.unwrap();
    assert_eq!(
        status, 404,
        "a session whose replica died is unknown to the replica the balancer picks: {response}"
    );

    // rmcp's client meets the same 404 and starts a new session on a live
    // replica, as the spec lets a client: every session is answered again,
    // by the replicas still alive.
    for (i, session) in sessions.iter().enumerate() {
        assert!(
            word_count(session, &format!("session {i} after the kill")).await,
            "session {i} after the kill"
        );
    }
    let after: Vec<usize> = audit_records(audit.path(), 3).iter().map(Vec::len).collect();
    let grown: usize = (0..3).filter(|&i| i != home).map(|i| after[i] - records[i].len()).sum();
    assert_eq!(
        grown,
        SESSIONS,
        "each session's call ran once, on a live replica ({records:?} -> {after:?})",
        records = records.iter().map(Vec::len).collect::<Vec<_>>()
    );
    for session in sessions {
        let _ = session.cancel().await;
    }
}

/// With `[http] session_store`, a 2025-11-25 session opened on one replica
/// is served by another, which restores it from Redis; only for the
/// principal that opened it; and after the replica that opened it is gone.
/// Without the store, another replica does not know it. Redis holds no
/// session ID and no principal's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_shared_through_redis_are_served_by_any_replica_for_their_principal_only() {
    let redis = Redis::start();
    let store = format!("[http]\nsession_store = \"redis://127.0.0.1:{}/0\"", redis.port);
    let (mut a, b, lone) =
        tokio::join!(HttpMoat::start(&store), HttpMoat::start(&store), HttpMoat::start(""));
    let (a_address, b_address, lone_address) =
        (a.address().to_string(), b.address().to_string(), lone.address().to_string());
    let count = |address: &str, session: &str, text: &str| raw_word_count(address, session, text);

    let session = tokio::task::block_in_place(|| raw_session(&a_address));
    let (status, response) = tokio::task::block_in_place(|| count(&b_address, &session, "one two three"));
    assert_eq!(status, 200, "the other replica restores the session: {response}");
    assert!(response.contains(r#"\"words\":3"#), "{response}");
    assert!(b.settled_log().await.contains(r#"call tool="text.word-count""#), "{}", b.log());

    // Another principal presenting the ID gets no session, on either replica.
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                      "params": {"name": "text.word-count", "arguments": {"text": "x"}}});
    for address in [&a_address, &b_address] {
        let (status, response) =
            tokio::task::block_in_place(|| post_as(crate::http::ALICE, address, Some(&session), &call));
        assert_eq!(status, 404, "{response}");
    }

    // The replica that opened it is gone; the session is not.
    a.kill().await;
    let (status, response) = tokio::task::block_in_place(|| count(&b_address, &session, "four five"));
    assert_eq!(status, 200, "{response}");
    assert!(response.contains(r#"\"words\":2"#), "{response}");

    // A replica without the store does not know it.
    let (status, response) = tokio::task::block_in_place(|| count(&lone_address, &session, "six"));
    assert_eq!(status, 404, "{response}");

    // What Redis holds: digests, never the ID or the principal.
    let dump = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "--no-raw", "eval"])
        .arg("local out = {} for _, k in ipairs(redis.call('KEYS', '*')) do table.insert(out, k) for _, v in ipairs(redis.call('HGETALL', k)) do table.insert(out, v) end end return out")
        .arg("0")
        .output()
        .expect("redis-cli (Debian's redis-tools, with redis-server)");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("moat:session:"), "{dump}");
    assert!(!dump.contains(&session) && !dump.contains("bob"), "{dump}");
}

/// `redis-server` (Debian's package) on a free loopback port, without
/// persistence; killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is not installed: `make deps` (the README's test command) installs Debian's",
            );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { child, port }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The statuses of `count` raw requests as alice, taking turns over
/// `replicas`, and the most of them her rate (30 a minute, HttpMoat's
/// config) lets through in the time they took: 30, and what refilled.
fn alice_requests(replicas: &[&HttpMoat], count: usize) -> (Vec<u16>, usize) {
    let mut bearer = String::new();
    let headers = crate::http::with_token(crate::http::ALICE, &mut bearer);
    let started = Instant::now();
    let statuses = (0..count)
        .map(|i| {
            replicas[i % replicas.len()].raw("POST", "/mcp", &headers, &crate::http::initialize_body()).0
        })
        .collect();
    (statuses, 30 + (started.elapsed().as_secs_f64() * 30.0 / 60.0).ceil() as usize)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_shared_through_redis_and_fall_back_to_each_replica() {
    // alice may make 30 requests a minute (HttpMoat's config).
    let redis = Redis::start();
    let store = format!("[http]\nrate_store = \"redis://127.0.0.1:{}/0\"", redis.port);
    let (a, b) = tokio::join!(HttpMoat::start(&store), HttpMoat::start(&store));
    let (statuses, most) = tokio::task::block_in_place(|| alice_requests(&[&a, &b], 40));
    let served = statuses.iter().filter(|&&s| s == 200).count();
    assert!(most < 40, "the run took too long to tell one bucket from two");
    assert!((30..=most).contains(&served), "two replicas served {served} of 40 at 30 a minute: {statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 429), "{statuses:?}");

    // Without Redis each replica limits on its own: limited still, never unlimited.
    drop(redis);
    let (statuses, most) = tokio::task::block_in_place(|| alice_requests(&[&a], 40));
    let served = statuses.iter().filter(|&&s| s == 200).count();
    assert!(
        (30..=most).contains(&served),
        "one replica served {served} of 40 without its store: {statuses:?}"
    );
    assert!(a.settled_log().await.contains("the rate store does not answer"), "{}", a.log());

    // Without the shared store the same 40 requests over two replicas get 60 a minute.
    let (c, d) = tokio::join!(HttpMoat::start(""), HttpMoat::start(""));
    let (statuses, _) = tokio::task::block_in_place(|| alice_requests(&[&c, &d], 40));
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 40, "{statuses:?}");
}

#[tokio::test]
async fn a_rate_store_that_cannot_be_reached_stops_the_start_and_is_named() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let text = crate::support::examples().join("text.wasm");
    let store = format!("redis://:secret-word@127.0.0.1:{port}/2");
    std::fs::write(&config, format!("[components.text]\npath = {text:?}\n[http]\nrate_store = {store:?}\n"))
        .unwrap();
    let output = Command::new(MOAT)
        .args(["serve", "--http", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        message.contains(&format!("cannot reach the rate store redis://127.0.0.1:{port}/2")),
        "{message}"
    );
    assert!(!message.contains("secret-word"), "{message}");
}

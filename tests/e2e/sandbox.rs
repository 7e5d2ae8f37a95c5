//! Deny by default, proven by trying: with no grants, a component cannot read
//! files, list directories, see the host's environment or arguments, read the
//! MCP stream from stdin, open sockets or resolve names. Canaries planted on the
//! host never appear in any result or log line. Shell metacharacters in
//! arguments are data: nothing runs.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::support::{Moat, USEFUL, is_error, text};

const CANARY: &str = "moat-canary-5f1e9a7c";

fn config() -> String {
    format!("{USEFUL}\n[components.hostile]\npath = \"{{dist}}/hostile.wasm\"\n")
}

#[tokio::test]
async fn no_file_outside_a_grant_exists_for_the_guest() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("id_rsa");
    std::fs::write(&secret, CANARY).unwrap();
    let moat = Moat::start(&config()).await;
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    for path in [
        secret.to_str().unwrap(),
        "/etc/passwd",
        &format!("{home}/.ssh/id_rsa"),
        "../../etc/passwd",
        "id_rsa",
        "/proc/self/environ",
    ] {
        let result = moat.call("hostile.read-file", json!({"path": path})).await;
        assert!(is_error(&result), "reading {path} must fail");
        assert!(text(&result).starts_with(path), "refused by the sandbox, not a crash: {}", text(&result));
        assert!(!text(&result).contains(CANARY));
    }
    for path in ["/", ".", dir.path().to_str().unwrap()] {
        let result = moat.call("hostile.list-dir", json!({"path": path})).await;
        assert!(is_error(&result), "listing {path} must fail: {}", text(&result));
    }
    assert!(!moat.settled_log().await.contains(CANARY));
    moat.stop().await;
}

#[tokio::test]
async fn no_environment_arguments_or_stdin() {
    // The host process has a secret in its environment; the guest must not see it.
    // SAFETY of the test: the variable is set for the child process only.
    let moat = Moat::start_with_env(&config(), &[("MOAT_TEST_SECRET", CANARY)]).await;
    let env = moat.call("hostile.env-vars", json!({})).await;
    assert_eq!(env.structured_content, Some(json!({"result": []})), "no environment variables");
    let args = moat.call("hostile.args", json!({})).await;
    assert_eq!(args.structured_content, Some(json!({"result": []})), "no arguments");
    let stdin = moat.call("hostile.read-stdin", json!({})).await;
    assert!(!text(&stdin).contains("jsonrpc"), "stdin is closed, not the MCP stream: {}", text(&stdin));
    assert!(!moat.settled_log().await.contains(CANARY));
    moat.stop().await;
}

#[tokio::test]
async fn no_sockets_and_no_name_lookup() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let moat = Moat::start(&config()).await;
    let connect = moat.call("hostile.tcp-connect", json!({"address": address})).await;
    assert!(is_error(&connect), "connecting to {address} must fail: {}", text(&connect));
    assert!(text(&connect).starts_with(&address), "refused by the sandbox, not a crash: {}", text(&connect));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(listener.accept().is_err(), "the listener saw no connection");
    let lookup = moat.call("hostile.lookup", json!({"host": "localhost"})).await;
    assert!(is_error(&lookup), "name lookup must fail: {}", text(&lookup));
    assert!(
        text(&lookup).starts_with("localhost: "),
        "refused by the sandbox, not a crash: {}",
        text(&lookup)
    );
    moat.stop().await;
}

#[tokio::test]
async fn shell_payloads_in_arguments_are_only_data() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let touch = format!("touch {}", marker.display());
    let payloads = [
        format!("foo; {touch}"),
        format!("$({touch})"),
        format!("`{touch}`"),
        format!("x | sh -c '{touch}'"),
        format!("x && {touch} #"),
        format!("'; {touch}; echo '"),
    ];
    let moat = Moat::start(&config()).await;
    for payload in &payloads {
        let counted = moat.call("text.word-count", json!({"text": payload})).await;
        assert_eq!(
            counted.structured_content.unwrap()["bytes"],
            payload.len(),
            "the payload is counted as text"
        );
        let cased = moat.call("text.change-case", json!({"text": payload, "to": "upper"})).await;
        assert_eq!(text(&cased), payload.to_uppercase());
        let digest = moat.call("hash.encode", json!({"encoding": "hex", "data": payload})).await;
        assert_eq!(text(&digest), hex_encode(payload));
        let queried = moat.call("json.query", json!({"document": payload, "pointer": payload})).await;
        assert!(is_error(&queried));
        let read = moat.call("hostile.read-file", json!({"path": payload})).await;
        assert!(is_error(&read));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!Path::new(&marker).exists(), "nothing ran: {} was not created", marker.display());
    moat.stop().await;
}

fn hex_encode(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn every_call_gets_a_fresh_instance() {
    let moat = Moat::start(&config()).await;
    for _ in 0..3 {
        let count = moat.call("hostile.count", json!({})).await;
        assert_eq!(text(&count), "1", "a global counter starts from zero on every call: no state survives");
        // Time for the spare instance to be made: the calls after the first
        // run in one made before they came, and it must be as fresh.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let spares = moat.calls_in_spares("hostile.count", 3).await;
    assert_eq!(spares, 2, "the second and third calls ran in spare instances:\n{}", moat.stderr());
    moat.stop().await;
}

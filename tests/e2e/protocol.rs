//! MCP over stdio: version negotiation, tools/list, errors, ping, clean exit.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::support::{
    Lifecycle, Moat, USEFUL, example, is_error, raw_serve, shared_cache, text, writeln_message,
};

#[tokio::test]
async fn lists_every_tool_in_name_order_with_embedded_docs() {
    let moat = Moat::start(USEFUL).await;
    let tools = moat.client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "tools/list is in name order");
    for expected in ["text.word-count", "json.query", "datetime.add-days", "hash.digest", "units.convert"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    assert!(
        names.contains(&"kitchen-sink.stateful.version"),
        "interface functions are namespaced by interface"
    );
    assert!(
        !names.iter().any(|n| n.contains("maybe-maybe") || n.contains("counter")),
        "unsupported types are not tools"
    );

    let word_count = tools.iter().find(|t| t.name == "text.word-count").unwrap();
    assert_eq!(
        word_count.description.as_deref(),
        Some("Counts the characters, words, lines and bytes of a text.")
    );
    assert_eq!(word_count.title.as_deref(), Some("Count words"));
    assert_eq!(word_count.input_schema["properties"]["text"]["description"], json!("the text to count"));
    let annotations = word_count.annotations.as_ref().expect("annotations from doc tags");
    assert_eq!(annotations.read_only_hint, Some(true));
    assert_eq!(annotations.open_world_hint, Some(false));
    assert_eq!(
        word_count.output_schema.as_ref().unwrap()["required"],
        json!(["characters", "words", "lines", "bytes"])
    );

    let again = moat.client.list_all_tools().await.unwrap();
    assert_eq!(tools, again, "tools/list is deterministic");
    moat.stop().await;
}

#[tokio::test]
async fn every_protocol_revision_lists_and_calls() {
    let config = format!("[components.text]\npath = {:?}\n", example("text"));
    let mut lifecycles: Vec<(Lifecycle, ProtocolVersion)> = [
        ProtocolVersion::V_2024_11_05,
        ProtocolVersion::V_2025_03_26,
        ProtocolVersion::V_2025_06_18,
        ProtocolVersion::V_2025_11_25,
    ]
    .into_iter()
    .map(|v| (Lifecycle::Initialize(v.clone()), v))
    .collect();
    lifecycles.push((Lifecycle::Discover, ProtocolVersion::V_2026_07_28));
    for (lifecycle, version) in lifecycles {
        let moat = Moat::start_with(&config, lifecycle, &shared_cache()).await;
        let negotiated = moat.client.peer_info().expect("server info").protocol_version.clone();
        assert_eq!(negotiated, version, "negotiated version");
        let tools = moat.client.list_all_tools().await.unwrap();
        assert_eq!(tools.len(), 4, "{version}: tools/list");
        let result = moat.call("text.change-case", json!({"text": "hello world", "to": "kebab"})).await;
        assert_eq!(text(&result), "hello-world", "{version}: tools/call");
        moat.stop().await;
    }
}

#[tokio::test]
async fn an_unknown_tool_is_a_protocol_error() {
    let moat = Moat::start(USEFUL).await;
    let error = moat.try_call("text.no-such-tool", json!({})).await.expect_err("unknown tool");
    let rmcp::ServiceError::McpError(error) = error else { panic!("expected a JSON-RPC error, got {error}") };
    assert_eq!(error.code.0, -32602);
    assert!(error.message.contains("unknown tool `text.no-such-tool`"), "{}", error.message);
    // The session goes on.
    assert!(!is_error(&moat.call("hash.encode", json!({"encoding": "hex", "data": "A"})).await));
    moat.stop().await;
}

/// A client that pipes moat's stderr and never reads it (or a log collector
/// that stalls): moat keeps answering. Its log waits on a thread of its own;
/// once the backlog is full, lines are dropped, and a last line says how many.
/// A log written from the serving threads would block them all once the
/// pipe's 64 KiB were full, after about 300 calls of this size.
#[test]
fn a_client_that_never_reads_stderr_is_still_answered() {
    // One log line of about 300 bytes per call: far more than the pipe holds
    // and than moat's backlog of 4,096 lines.
    const CALLS: u64 = 6000;
    let hash = example("hash");
    let (mut child, mut stdin) = raw_serve(&[hash.as_os_str()]);
    let stdout = child.stdout.take().unwrap();
    let (answers, answered) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if answers.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        answered
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no answer to {what} in 20 s while stderr is not read"))
    };
    next("initialize");
    for id in 0..CALLS {
        let call = json!({"jsonrpc":"2.0","id":id + 10,"method":"tools/call",
            "params":{"name":"hash.digest","arguments":{"algorithm":"sha256","data":"abc"}}});
        writeln_message(&mut stdin, &call);
        let answer: Value = serde_json::from_str(&next(&format!("call {id} of {CALLS}"))).unwrap();
        assert_eq!(answer["id"], id + 10);
        assert!(answer["result"]["content"][0]["text"].as_str().unwrap().starts_with("ba7816bf"), "{answer}");
    }
    // Reading stderr now lets the queued lines out, then the count of the dropped ones.
    let mut stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
        log
    });
    exits_cleanly_on_eof(&mut child, stdin);
    let log = log.join().unwrap();
    let calls_logged =
        log.lines().filter(|l| l.contains("moat::host: call tool=\"hash.digest\"")).count() as u64;
    assert!(
        calls_logged > 0 && calls_logged < CALLS,
        "some call lines written, some dropped: {calls_logged}"
    );
    let dropped =
        log.lines().find(|l| l.contains("log lines were dropped")).expect("the dropped lines are counted");
    let count: u64 = dropped.split("dropped=").nth(1).and_then(|n| n.trim().parse().ok()).expect("a count");
    // The call lines missing, and any other line that came while the backlog was full.
    assert!(
        count >= CALLS - calls_logged,
        "{count} counted, {} call lines missing: {dropped}",
        CALLS - calls_logged
    );
}

/// Closes moat's stdin and asserts that it exits, successfully, within 10 s.
fn exits_cleanly_on_eof(child: &mut std::process::Child, stdin: std::process::ChildStdin) {
    drop(stdin);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "moat did not exit after stdin closed");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit on EOF: {status}");
}

/// A raw JSON-RPC session against the binary: every stdout line is a JSON-RPC
/// message, ping answers, and closing stdin ends the process cleanly. The log
/// on stderr has the call's line, and no span in any line (rmcp's spans cost
/// every poll of every request's task, and moat does not record them).
#[test]
fn raw_stdio_session_pings_and_exits_on_eof() {
    let hash = example("hash");
    let (mut child, mut stdin) = raw_serve(&[hash.as_os_str()]);
    for message in [
        json!({"jsonrpc":"2.0","id":2,"method":"ping"}),
        json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"hash.digest","arguments":{"algorithm":"sha256","data":"abc"}}}),
    ] {
        writeln_message(&mut stdin, &message);
    }
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut responses = Vec::new();
    while responses.len() < 3 {
        let line = lines.next().expect("a response").unwrap();
        let message: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        assert_eq!(message["jsonrpc"], "2.0");
        responses.push(message);
    }
    let by_id =
        |id: i64| responses.iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("no response {id}"));
    assert_eq!(by_id(2)["result"], json!({}), "ping answers with an empty result");
    assert_eq!(
        by_id(3)["result"]["content"][0]["text"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    exits_cleanly_on_eof(&mut child, stdin);
    assert!(lines.next().is_none(), "nothing after the last response");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains(" INFO moat::host: call tool=\"hash.digest\""), "the call is logged:\n{log}");
    assert!(!log.contains("serve_inner"), "no span is recorded:\n{log}");
}

/// A line that is not a message gets the error JSON-RPC names, with what is
/// wrong and where, and the session goes on: a line cut short, JSON nested
/// deeper than 128, JSON that is no message (answered with its id).
#[test]
fn a_line_that_is_no_message_is_answered_and_the_session_goes_on() {
    use std::io::Write;
    let hash = example("hash");
    let (mut child, mut stdin) = raw_serve(&[hash.as_os_str()]);
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"hash.digest","arguments":{{"data":{}{}}}}}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    for line in [
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list""#,
        deep.as_str(),
        r#"{"jsonrpc":"2.0","id":4,"methodx":"ping"}"#,
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    // Bytes that are not UTF-8 (found by a black-box run: the session ended).
    stdin.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"\xff\xfe\"}\r\n").unwrap();
    writeln_message(&mut stdin, &json!({"jsonrpc":"2.0","id":5,"method":"ping"}));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut responses: Vec<Value> = Vec::new();
    while responses.len() < 6 {
        let line = lines.next().expect("a response").unwrap();
        responses.push(serde_json::from_str(&line).unwrap());
    }
    let errors: Vec<(Value, i64, String)> = responses
        .iter()
        .filter(|m| m.get("error").is_some())
        .map(|m| (m["id"].clone(), m["error"]["code"].as_i64().unwrap(), m["error"]["message"].to_string()))
        .collect();
    assert_eq!(errors.len(), 4, "{responses:?}");
    assert_eq!((errors[0].0.clone(), errors[0].1), (Value::Null, -32700));
    assert!(errors[0].2.contains("EOF while parsing an object at line 1 column"), "{}", errors[0].2);
    assert_eq!((errors[1].0.clone(), errors[1].1), (Value::Null, -32700));
    assert!(errors[1].2.contains("nests deeper than 128 levels, moat's bound"), "{}", errors[1].2);
    assert_eq!((errors[2].0.clone(), errors[2].1), (json!(4), -32600));
    assert_eq!((errors[3].0.clone(), errors[3].1), (Value::Null, -32700));
    assert!(errors[3].2.contains("the message is not UTF-8"), "{}", errors[3].2);
    assert!(
        responses.iter().any(|m| m["id"] == 5 && m["result"] == json!({})),
        "ping after them: {responses:?}"
    );
    exits_cleanly_on_eof(&mut child, stdin);
}

//! `moat vet --server`: a running MCP server vetted through a real client
//! connection, over stdio and Streamable HTTP, against the official
//! reference `everything` server (npm, pinned in tests/vet/servers, installed
//! by `make test`) and a scripted server for what a real one would not do.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{MOAT, repo_root};

fn servers() -> PathBuf {
    repo_root().join("tests/vet/servers")
}

fn everything() -> PathBuf {
    let entry = servers().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(
        entry.exists(),
        "run `make test` (or `npm ci` in tests/vet/servers) to install the everything server"
    );
    entry
}

fn vet(args: &[&str]) -> Output {
    Command::new(MOAT).arg("vet").args(args).env("RUST_LOG", "warn").output().expect("run moat vet")
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&output.stdout), stderr(output))
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The names vetted, as the JSON report lists them.
fn names(report: &Value) -> Vec<String> {
    report["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

/// The exit status agrees with the report: 1 when it failed, 0 when not.
fn assert_status_matches(output: &Output, report: &Value) {
    let expected = if report["failed"] == true { 1 } else { 0 };
    assert_eq!(output.status.code(), Some(expected), "stderr: {}", stderr(output));
}

#[test]
fn the_official_everything_server_is_listed_and_vetted_over_stdio() {
    let entry = everything();
    let output = vet(&["--server", "--format", "json", "--", "node", entry.to_str().unwrap(), "stdio"]);
    let report = report(&output);
    assert_status_matches(&output, &report);
    let names = names(&report);
    for tool in ["echo", "get-sum"] {
        assert!(names.iter().any(|n| n == tool), "{tool} not among {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("prompt ")), "no prompt vetted: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("resource")), "no resource vetted: {names:?}");
    assert!(report["tools"][0]["target"].as_str().unwrap().starts_with("server `node "), "{report}");
}

#[test]
fn the_official_everything_server_is_listed_and_vetted_over_http() {
    let entry = everything();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new("node")
        .arg("--import")
        .arg(servers().join("loopback.mjs"))
        .arg(&entry)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the everything server");
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let started = Instant::now();
    loop {
        let line = lines.next().expect("the server exited before listening").unwrap();
        if line.contains("listening on port") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the server did not listen within 60 s");
    }
    std::thread::spawn(move || lines.for_each(drop));
    let url = format!("http://127.0.0.1:{port}/mcp");
    let output = vet(&["--server", &url, "--header", "X-Moat-Test: 1", "--format", "json"]);
    server.kill().ok();
    server.wait().ok();
    let report = report(&output);
    assert_status_matches(&output, &report);
    let names = names(&report);
    assert!(names.iter().any(|n| n == "echo"), "echo not among {names:?}");
    assert_eq!(report["tools"][0]["target"], format!("server {url}"));
}

fn scripted(mode: &str, extra: &[&str]) -> Output {
    let script = servers().join("scripted_server.py");
    let mut args = vec!["--server"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "python3", script.to_str().unwrap(), mode]);
    vet(&args)
}

#[test]
fn a_poisoned_server_fails_the_vet_with_its_findings() {
    let output = scripted("poisoned", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "stderr: {}", stderr(&output));
    let report = report(&output);
    let tools = report["tools"].as_array().unwrap();
    let findings = |name: &str| -> Vec<String> {
        let tool =
            tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} missing: {report}"));
        tool["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect()
    };
    assert!(findings("add").is_empty(), "the ordinary tool was flagged: {:?}", findings("add"));
    assert!(findings("get_weather").contains(&"concealment".to_string()), "{:?}", findings("get_weather"));
    let prompt = findings("prompt review");
    assert!(!prompt.is_empty(), "the poisoned prompt was not flagged");
}

#[test]
fn a_server_that_never_answers_is_bad_input() {
    let output = scripted("silent", &["--timeout", "2s"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("did not finish answering initialize and the list requests within 2s"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_malformed_list_is_bad_input() {
    let output = scripted("malformed", &[]);
    assert_eq!(output.status.code(), Some(2), "stdout: {}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr(&output).contains("tools/list failed"), "{}", stderr(&output));
}

#[test]
fn a_server_whose_pages_never_end_is_bad_input_at_the_bound() {
    let output = scripted("endless", &["--timeout", "120s"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("past 1000 pages, moat's bound (MAX_LIST_PAGES)"),
        "{}",
        stderr(&output)
    );
    let output = scripted("looping", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("gave the cursor \"1\" twice"), "{}", stderr(&output));
}

#[test]
fn a_command_that_does_not_exist_is_bad_input() {
    let output = vet(&["--server", "--", "/nonexistent/mcp-server"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot start server `/nonexistent/mcp-server`"), "{}", stderr(&output));
}

#[test]
fn a_header_for_a_command_is_refused() {
    let output = vet(&["--server", "--header", "X: 1", "--", "true"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--header is for an HTTP server"), "{}", stderr(&output));
}

/// A client config (Claude Desktop's `mcpServers` shape) naming `servers`.
fn client_config(dir: &std::path::Path, servers: serde_json::Value) -> PathBuf {
    let path = dir.join("claude_desktop_config.json");
    std::fs::write(&path, serde_json::json!({"mcpServers": servers}).to_string()).unwrap();
    path
}

#[test]
fn a_client_config_is_vetted_server_by_server_and_across_servers() {
    let dir = tempfile::tempdir().unwrap();
    let script = servers().join("scripted_server.py");
    let config = client_config(
        dir.path(),
        serde_json::json!({
            "everything": {"command": "node", "args": [everything(), "stdio"]},
            "helper": {"command": "python3", "args": [script, "shadow"]},
        }),
    );
    let output = vet(&["--client-config", config.to_str().unwrap(), "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "stderr: {}", stderr(&output));
    let report = report(&output);
    let tools = report["tools"].as_array().unwrap();
    let targets: Vec<&str> = tools.iter().map(|t| t["target"].as_str().unwrap()).collect();
    assert!(targets.contains(&"server everything") && targets.contains(&"server helper"), "{targets:?}");
    let helper = tools.iter().find(|t| t["name"] == "format_number").unwrap();
    let shadowing: Vec<&Value> = helper["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["span"].as_str().is_some_and(|s| s.contains("get-sum")))
        .collect();
    assert!(
        !shadowing.is_empty(),
        "the description changing the other server's get-sum was not flagged: {helper}"
    );
}

#[test]
fn a_broken_server_in_a_client_config_loses_none_of_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let config = client_config(
        dir.path(),
        serde_json::json!({
            "everything": {"command": "node", "args": [everything(), "stdio"]},
            "missing": {"command": "/nonexistent/mcp-server"},
        }),
    );
    let output = vet(&["--client-config", config.to_str().unwrap(), "--format", "json"]);
    assert_eq!(output.status.code(), Some(2), "stdout: {}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr(&output).contains("server missing"), "{}", stderr(&output));
    assert!(names(&report(&output)).iter().any(|n| n == "echo"), "the working server was not vetted");

    std::fs::write(&config, r#"{"mcpServers": {"odd": {"args": []}}}"#).unwrap();
    let output = vet(&["--client-config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("server odd in") && stderr(&output).contains("neither `command` nor `url`"),
        "{}",
        stderr(&output)
    );
}

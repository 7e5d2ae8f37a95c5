//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! installed by `make test` into tests/conformance) against `moat serve
//! --http` serving the conformance fixture. Scenarios moat does not pass are
//! listed with their reasons in tests/conformance/baseline.yml; the suite
//! fails on any other failure and on a listed scenario that starts passing.

use crate::http::HttpMoat;
use crate::support::{examples, repo_root};

#[tokio::test]
async fn the_official_conformance_suite_passes_its_baseline() {
    examples();
    let root = repo_root();
    let suite = root.join("tests/conformance");
    let node = suite.join("node_modules/.bin/node");
    assert!(node.exists(), "run `make test` (or `npm ci` in tests/conformance) to install the suite");
    let moat =
        HttpMoat::serve(&root.join("guest-examples/conformance.toml"), tempfile::tempdir().unwrap()).await;
    let url = moat.url();

    let results = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(&node)
        .arg(suite.join("node_modules/@modelcontextprotocol/conformance/dist/index.js"))
        .args(["server", "--url", &url, "--expected-failures"])
        .arg(suite.join("baseline.yml"))
        .arg("--output-dir")
        .arg(results.path())
        .output()
        .await
        .expect("run the conformance suite");
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report.split("=== SUMMARY ===").nth(1).unwrap_or(&report);
    println!("{summary}");
    assert!(
        output.status.success(),
        "conformance suite against the baseline:\n{summary}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for passing in [
        "server-initialize",
        "ping",
        "tools-list",
        "tools-call-simple-text",
        "tools-call-error",
        "dns-rebinding-protection",
    ] {
        assert!(summary.contains(&format!("✓ {passing}:")), "{passing} must pass:\n{summary}");
    }
    drop(moat);
}

//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! installed by `make test` into tests/conformance) against `moat serve
//! --http` serving the conformance fixture, with the requirements of both
//! protocol revisions (2025-11-25 and 2026-07-28). Scenarios moat does not
//! pass are listed with their reasons in tests/conformance/baseline.yml; the
//! suite fails on any other failure and on a listed scenario that starts
//! passing.

use crate::http::HttpMoat;
use crate::support::{examples, repo_root};

/// The scenarios each requirement set must pass (beyond not failing the
/// baseline): the ones each part of the surface is there for.
const MUST_PASS: [(&str, &[&str]); 2] = [
    (
        "2025-11-25",
        &[
            "server-initialize",
            "ping",
            "tools-list",
            "tools-call-simple-text",
            "tools-call-error",
            "tools-call-image",
            "tools-call-mixed-content",
            "tools-call-sampling",
            "tools-call-elicitation",
            "elicitation-sep1330-enums",
            "resources-read-binary",
            "resources-templates-read",
            "resources-subscribe",
            "prompts-get-with-args",
            "prompts-get-embedded-resource",
            "completion-complete",
            "dns-rebinding-protection",
        ],
    ),
    (
        "2026-07-28",
        &[
            "tools-call-audio",
            "resources-read-text",
            "sep-2164-resource-not-found",
            "prompts-get-with-image",
            "caching",
            "http-header-validation",
            "input-required-result-basic-elicitation",
            "input-required-result-basic-sampling",
            "input-required-result-basic-list-roots",
            "input-required-result-request-state",
            "input-required-result-multiple-input-requests",
            "input-required-result-multi-round",
            "input-required-result-non-tool-request",
            "input-required-result-tampered-state",
            "input-required-result-capability-check",
            "server-stateless",
        ],
    ),
];

#[tokio::test]
async fn the_official_conformance_suite_passes_its_baseline_in_both_eras() {
    examples();
    let root = repo_root();
    let suite = root.join("tests/conformance");
    let node = suite.join("node_modules/.bin/node");
    assert!(node.exists(), "run `make test` (or `npm ci` in tests/conformance) to install the suite");
    let moat =
        HttpMoat::serve(&root.join("guest-examples/conformance.toml"), tempfile::tempdir().unwrap()).await;
    let url = moat.url();
    for (requirements, must_pass) in MUST_PASS {
        let results = tempfile::tempdir().unwrap();
        let output = tokio::process::Command::new(&node)
            .arg(suite.join("node_modules/@modelcontextprotocol/conformance/dist/index.js"))
            .args(["server", "--url", &url, "--requirements", requirements, "--expected-failures"])
            .arg(suite.join("baseline.yml"))
            .arg("--output-dir")
            .arg(results.path())
            .output()
            .await
            .expect("run the conformance suite");
        let report = String::from_utf8_lossy(&output.stdout);
        let summary = report.split("=== SUMMARY ===").nth(1).unwrap_or(&report);
        println!("--requirements {requirements}:{summary}");
        assert!(
            output.status.success(),
            "conformance suite --requirements {requirements} against the baseline:\n{summary}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for passing in must_pass {
            assert!(
                summary.contains(&format!("✓ {passing}:")),
                "{passing} must pass ({requirements}):\n{summary}"
            );
        }
    }
    drop(moat);
}

//! The official MCP TypeScript SDK as the client (`@modelcontextprotocol/sdk`
//! from npm, installed with the conformance suite in tests/conformance).

use std::process::Command;

use crate::support::{MOAT, examples, repo_root, shared_cache};

#[test]
fn the_official_typescript_sdk_reads_every_part_of_the_surface() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let dist = examples();
    std::fs::write(
        &config,
        format!(
            "[server]\ncache_dir = {:?}\n[components.text]\npath = {:?}\n[components.conformance]\npath = {:?}\n",
            shared_cache(),
            dist.join("text.wasm"),
            dist.join("conformance.wasm")
        ),
    )
    .unwrap();
    let suite = repo_root().join("tests/conformance");
    let node = suite.join("node_modules/.bin/node");
    assert!(node.exists(), "run `make test` (or `npm ci` in tests/conformance) to install Node and the SDK");
    let output = Command::new(&node)
        .arg(suite.join("sdk_client.mjs"))
        .env("MOAT_BIN", MOAT)
        .env("MOAT_CONFIG", &config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "typescript client failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("typescript client: all checks passed"));
}

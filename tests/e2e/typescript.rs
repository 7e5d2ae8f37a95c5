//! The official MCP TypeScript SDK as the client (`@modelcontextprotocol/sdk`
//! from npm, installed with the conformance suite in tests/conformance).

use crate::support::{examples_config, repo_root, run_client_script};

#[test]
fn the_official_typescript_sdk_reads_every_part_of_the_surface() {
    let (_dir, config) = examples_config(&["text", "conformance"]);
    let suite = repo_root().join("tests/conformance");
    let node = suite.join("node_modules/.bin/node");
    assert!(node.exists(), "run `make test` (or `npm ci` in tests/conformance) to install Node and the SDK");
    run_client_script(node.as_os_str(), &suite.join("sdk_client.mjs"), &config, "typescript client");
}

//! The MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`, from
//! npm, installed with the conformance suite in tests/conformance) as the
//! client, over stdio and Streamable HTTP: a content tool, a template read
//! and a prompt, each printed as the JSON the Inspector received.

use std::path::PathBuf;

use serde_json::Value;

use crate::http::HttpMoat;
use crate::support::{MOAT, examples_config, repo_root};

/// Runs the Inspector CLI with `args` and returns the JSON it printed.
fn inspector(args: &[&str], catalog: &std::path::Path) -> Value {
    let suite = repo_root().join("tests/conformance");
    let node = suite.join("node_modules/.bin/node");
    let cli: PathBuf = suite.join("node_modules/@modelcontextprotocol/inspector/package.json");
    assert!(cli.exists(), "run `make test` (or `npm ci` in tests/conformance) to install the MCP Inspector");
    let output = std::process::Command::new(&node)
        .arg(suite.join("node_modules/.bin/mcp-inspector"))
        .arg("--cli")
        .args(args)
        // Its catalog of servers, which it would otherwise keep in ~/.mcp-inspector.
        .env("MCP_CATALOG_PATH", catalog)
        .output()
        .expect("run the MCP Inspector CLI");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "inspector {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("inspector printed no JSON ({e}):\n{stdout}"))
}

#[tokio::test]
async fn the_mcp_inspector_cli_calls_reads_and_gets_over_stdio_and_http() {
    let (dir, config) = examples_config(&["conformance"]);
    let catalog = dir.path().join("inspector-catalog.json");
    let config = config.to_str().unwrap();
    let stdio = |method: &[&str]| {
        let mut args = method.to_vec();
        args.extend(["--", MOAT, "serve", "--config", config]);
        inspector(&args, &catalog)
    };
    let image = stdio(&["--method", "tools/call", "--tool-name", "conformance.test-image-content"]);
    assert_eq!(image["content"][0]["type"], "image", "{image}");
    assert_eq!(image["content"][0]["mimeType"], "image/png");
    let read = stdio(&["--method", "resources/read", "--uri", "test://template/5/data"]);
    let data: Value = serde_json::from_str(read["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(data["id"], "5", "{read}");
    let prompt = stdio(&[
        "--method",
        "prompts/get",
        "--prompt-name",
        "conformance.test-prompt-with-arguments",
        "--prompt-args",
        "arg1=a",
        "arg2=b",
    ]);
    assert_eq!(
        prompt["messages"][0]["content"]["text"], "Prompt with arguments: arg1='a', arg2='b'",
        "{prompt}"
    );

    let moat =
        HttpMoat::serve(&repo_root().join("guest-examples/conformance.toml"), tempfile::tempdir().unwrap())
            .await;
    let url = moat.url();
    let listed =
        inspector(&["--method", "resources/list", "--transport", "http", "--server-url", &url], &catalog);
    let uris: Vec<&str> =
        listed["resources"].as_array().unwrap().iter().filter_map(|r| r["uri"].as_str()).collect();
    assert!(uris.contains(&"test://static-text"), "{listed}");
    let mixed = inspector(
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "test_multiple_content_types",
            "--transport",
            "http",
            "--server-url",
            &url,
        ],
        &catalog,
    );
    let kinds: Vec<&str> =
        mixed["content"].as_array().unwrap().iter().filter_map(|c| c["type"].as_str()).collect();
    assert_eq!(kinds, ["text", "image", "resource"], "{mixed}");
    drop(moat);
}

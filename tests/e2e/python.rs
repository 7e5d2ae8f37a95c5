//! The official MCP Python SDK as the client (`pip install mcp`).

use std::process::Command;

use crate::support::{MOAT, examples, repo_root, shared_cache};

#[test]
fn the_official_python_sdk_lists_and_calls_tools_reads_resources_and_gets_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let dist = examples();
    std::fs::write(
        &config,
        format!("[server]\ncache_dir = {:?}\n[components.text]\npath = {:?}\n[components.kitchen-sink]\npath = {:?}\n[components.conformance]\npath = {:?}\n",
            shared_cache(), dist.join("text.wasm"), dist.join("kitchen-sink.wasm"), dist.join("conformance.wasm")),
    )
    .unwrap();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python).args(["-c", "import mcp"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "the Python MCP SDK is missing: run `pip install -r tests/python/requirements.txt` (the Makefile's test target does)"
    );
    let output = Command::new(&python)
        .arg(repo_root().join("tests/python/stdio_client.py"))
        .env("MOAT_BIN", MOAT)
        .env("MOAT_CONFIG", &config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python client failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("python client: all checks passed"));
}

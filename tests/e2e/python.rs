//! The official MCP Python SDK as the client (`pip install mcp`).

use std::process::Command;

use crate::support::{examples_config, repo_root, run_client_script};

#[test]
fn the_official_python_sdk_lists_and_calls_tools_reads_resources_and_gets_prompts() {
    let (_dir, config) = examples_config(&["text", "kitchen-sink", "conformance"]);
    // The conformance fixture's questions for the user, answered in both eras.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[components.conformance.grants]\nelicitation = true\n");
    std::fs::write(&config, text).unwrap();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python).args(["-c", "import mcp"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "the Python MCP SDK is missing: run `pip install -r tests/python/requirements.txt` (the Makefile's test target does)"
    );
    let script = repo_root().join("tests/python/stdio_client.py");
    run_client_script(python.as_ref(), &script, &config, "python client");
}

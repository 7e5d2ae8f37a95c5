//! The fixture for the official MCP conformance suite: the tools its server
//! scenarios call, doing exactly what each scenario checks.

use std::time::Duration;

wit_bindgen::generate!({ world: "conformance", path: "wit", generate_all });

use moat::host::logging::{Level, log};
use moat::host::progress::report;

struct Conformance;

impl Guest for Conformance {
    fn test_simple_text() -> String {
        "This is a simple text response for testing.".to_string()
    }

    fn test_error_handling() -> Result<String, String> {
        Err("This tool intentionally returns an error for testing".to_string())
    }

    fn test_tool_with_logging() -> String {
        log(Level::Info, "Tool execution started", &[]);
        std::thread::sleep(Duration::from_millis(50));
        log(Level::Info, "Tool processing data", &[]);
        std::thread::sleep(Duration::from_millis(50));
        log(Level::Info, "Tool execution completed", &[]);
        "Tool with logging executed successfully".to_string()
    }

    fn test_tool_with_progress() -> String {
        for (i, done) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
            report(done, Some(100.0), None);
        }
        "Tool with progress executed successfully".to_string()
    }
}

export!(Conformance);

//! The fixture for the official MCP conformance suite: the tools its server
//! scenarios call, doing exactly what each scenario checks.

wit_bindgen::generate!({ world: "conformance", path: "wit" });

struct Conformance;

impl Guest for Conformance {
    fn test_simple_text() -> String {
        "This is a simple text response for testing.".to_string()
    }

    fn test_error_handling() -> Result<String, String> {
        Err("This tool intentionally returns an error for testing".to_string())
    }
}

export!(Conformance);

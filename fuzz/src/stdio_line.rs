//! A line on `moat serve`'s stdin: a JSON-RPC message, or an answer to it
//! that JSON-RPC names (-32700 for what is not UTF-8 or not JSON, -32600 for JSON that is
//! no message) with the request's id when it has a usable one. Never a
//! panic, and never silence.

use moat::mcp::stdio::message_of;
use serde_json::Value;

pub fn check(data: &[u8]) {
    if data.contains(&b'\n') || data.trim_ascii().is_empty() {
        return; // the transport splits lines and skips blank ones before this
    }
    let Err(answer) = message_of(data) else { return };
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
    let code = answer["error"]["code"].as_i64();
    assert!(matches!(code, Some(-32700 | -32600)), "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    assert!(matches!(answer["id"], Value::Null | Value::String(_) | Value::Number(_)), "{answer}");
    serde_json::to_string(&answer).expect("the answer is JSON");
}

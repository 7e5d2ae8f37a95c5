//! Canonical JSON: one byte sequence per value, so that equal definitions
//! hash equal. The lock pins tools by it and the audit log chains lines by it.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The same value with every object's keys sorted (JSON Canonicalization
/// Scheme order for the ASCII keys MCP uses), so equal definitions hash equal.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// `sha256:...` of a value's canonical compact JSON.
pub fn digest_of(value: &Value) -> String {
    let bytes = serde_json::to_vec(&canonical(value)).expect("values serialise");
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

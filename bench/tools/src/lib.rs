//! The benchmark tools, written once: the guest component (`guest-examples/bench`)
//! and the native baseline server (`bench/native`) both call these functions,
//! so the two sides compute exactly the same thing.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The trivial tool.
pub fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// The compute tool: SHA-256 of the text's bytes, lower-case hex.
pub fn sha256(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// The JSON tool: keeps records scoring above 50, highest score first, with
/// upper-cased names and only `id` and `name`.
pub fn transform(document: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(document).map_err(|e| e.to_string())?;
    let records = value.as_array().ok_or("the document must be an array of records")?;
    let mut kept: Vec<(i64, Value)> = records
        .iter()
        .filter_map(|record| {
            let score = record.get("score")?.as_i64()?;
            (score > 50).then(|| {
                let name = record.get("name").and_then(Value::as_str).unwrap_or_default().to_uppercase();
                (score, json!({ "id": record.get("id").cloned().unwrap_or(Value::Null), "name": name }))
            })
        })
        .collect();
    kept.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    Ok(Value::Array(kept.into_iter().map(|(_, record)| record).collect()).to_string())
}

/// A transform input of `count` records (what the harness sends).
pub fn sample_document(count: usize) -> String {
    let records: Vec<Value> = (0..count)
        .map(|i| json!({ "id": i, "name": format!("record number {i}"), "score": (i * 37) % 100, "tags": ["a", "b"] }))
        .collect();
    Value::Array(records).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_compute_what_they_say() {
        assert_eq!(add(2, 3), 5);
        assert_eq!(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let out = transform(
            r#"[{"id":1,"name":"a","score":60},{"id":2,"name":"b","score":90},{"id":3,"score":10}]"#,
        )
        .unwrap();
        assert_eq!(out, r#"[{"id":2,"name":"B"},{"id":1,"name":"A"}]"#);
    }
}

//! JSON documents as a moat tool: JSON Pointer queries, keys, formatting, validation.

wit_bindgen::generate!({ world: "json-query", path: "wit" });

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{PrettyFormatter, Serializer};

struct JsonQuery;

fn parse(document: &str) -> Result<Value, String> {
    serde_json::from_str(document).map_err(|e| format!("not valid JSON: {e}"))
}

fn at<'a>(value: &'a Value, pointer: &str) -> Result<&'a Value, String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!("`{pointer}` is not a JSON Pointer: it must be empty or start with `/`"));
    }
    value.pointer(pointer).ok_or_else(|| format!("nothing at `{pointer}`"))
}

impl Guest for JsonQuery {
    fn query(document: String, pointer: String) -> Result<String, String> {
        let value = parse(&document)?;
        Ok(at(&value, &pointer)?.to_string())
    }

    fn keys(document: String, pointer: String) -> Result<Vec<String>, String> {
        let value = parse(&document)?;
        match at(&value, &pointer)? {
            Value::Object(map) => Ok(map.keys().cloned().collect()),
            Value::Array(items) => Ok((0..items.len()).map(|i| i.to_string()).collect()),
            other => Err(format!("the value at `{pointer}` is not an object or array but {}", kind(other))),
        }
    }

    fn format(document: String, indent: u8) -> Result<String, String> {
        let value = parse(&document)?;
        if indent == 0 {
            return Ok(value.to_string());
        }
        let spaces = vec![b' '; usize::from(indent)];
        let mut out = Vec::new();
        let mut serializer = Serializer::with_formatter(&mut out, PrettyFormatter::with_indent(&spaces));
        value.serialize(&mut serializer).map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    fn validate(document: String) -> Validation {
        match serde_json::from_str::<Value>(&document) {
            Ok(_) => Validation { valid: true, error: None, line: None, column: None },
            Err(e) => Validation {
                valid: false,
                error: Some(e.to_string()),
                line: u32::try_from(e.line()).ok(),
                column: u32::try_from(e.column()).ok(),
            },
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

export!(JsonQuery);

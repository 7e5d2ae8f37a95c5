//! JSON ⇄ component values, guided by a [`ValType`](crate::types::ValType).
//!
//! `to_val` is the gate every argument passes before a guest runs: anything the
//! schema from `schema` would reject is refused here with the JSON path and what
//! was expected. `to_json` turns results back, refusing what JSON cannot carry
//! (non-finite floats). Pure code: no wasmtime store.

use std::fmt;

use serde_json::Value;

mod to_json;
mod to_val;

pub use self::to_json::to_json;
pub use self::to_val::{MAX_EXACT_FLOAT_INTEGER, args_to_vals, holds_inexact_float_integer, to_val};

/// A value that does not fit its type, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: expected {expected}, found {found}")]
pub struct ConvertError {
    /// JSONPath-style location, `$` being the arguments object (or the result).
    pub path: String,
    pub expected: String,
    pub found: String,
}

/// A location inside a JSON document, built up while descending.
#[derive(Debug, Clone, Default)]
pub struct JsonPath(Vec<Segment>);

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

impl JsonPath {
    pub fn root() -> Self {
        Self::default()
    }
    fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_string()));
        next
    }
    fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }
    fn error(&self, expected: impl Into<String>, found: impl Into<String>) -> ConvertError {
        ConvertError { path: self.to_string(), expected: expected.into(), found: found.into() }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in &self.0 {
            match segment {
                Segment::Key(key)
                    if !key.is_empty()
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    write!(f, ".{key}")?
                }
                Segment::Key(key) => write!(f, "[{}]", Value::String(key.clone()))?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A short description of a JSON value for error messages (never the whole value:
/// arguments may be large or sensitive).
fn describe(value: &Value) -> String {
    const PREVIEW: usize = 40;
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() <= PREVIEW => {
            format!("string {}", Value::String(s.clone()))
        }
        Value::String(s) => {
            let head: String = s.chars().take(PREVIEW).collect();
            format!("string {}… ({} characters)", Value::String(head), s.chars().count())
        }
        Value::Array(items) => format!("array of {} items", items.len()),
        Value::Object(map) => format!("object with {} properties", map.len()),
    }
}

#[cfg(test)]
mod tests;

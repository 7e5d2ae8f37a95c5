//! `moat vet` of a `tools/list` answer (or a prompt or resource list) from
//! a server nobody vouches for: any JSON, of any shape, in any field. Never
//! a panic, and every definition gets its own findings, in order.

use moat::vet::{Context, vet_other_definition, vet_tools};
use serde_json::Value;

pub fn check(data: &[u8]) {
    let Ok(json) = serde_json::from_slice::<Value>(data) else { return };
    let tools: Vec<Value> = match &json {
        Value::Array(items) => items.clone(),
        Value::Object(object) => match object.get("tools") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![json.clone()],
        },
        other => vec![other.clone()],
    };
    let findings = vet_tools(&tools, &["mail.send".to_string()]);
    assert_eq!(findings.len(), tools.len(), "one result per definition");
    for definition in &tools {
        let _ = vet_other_definition(definition, &Context::default());
    }
}

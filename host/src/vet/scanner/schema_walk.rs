//! The walk over a definition's structure: each schema (parameters, their
//! names, descriptions, defaults, enums and examples, nested to a bound) and
//! the annotations.

use regex::Regex;
use serde_json::{Map, Value};

use super::{MAX_SCHEMA_DEPTH, Scanner};
use crate::findings::Severity;
use crate::vet::rules::{EXFILTRATION_PARAMETERS, SECRET_PARAMETERS};

impl Scanner<'_> {
    pub(in crate::vet) fn schema(
        &mut self,
        path: &str,
        schema: &Map<String, Value>,
        depth: usize,
        input: bool,
    ) {
        if depth > MAX_SCHEMA_DEPTH {
            self.push(
                "schema-depth",
                Severity::Low,
                path,
                "",
                format!("schema nests deeper than {MAX_SCHEMA_DEPTH} levels"),
            );
            return;
        }
        for key in ["title", "description"] {
            if let Some(text) = schema.get(key).and_then(Value::as_str) {
                self.text(&format!("{path}.{key}"), text);
            }
        }
        for key in ["default", "const", "enum", "examples"] {
            if let Some(value) = schema.get(key) {
                let mut strings = Vec::new();
                collect_strings(value, &mut strings);
                for (i, s) in strings.iter().enumerate() {
                    let field = if strings.len() == 1 {
                        format!("{path}.{key}")
                    } else {
                        format!("{path}.{key}[{i}]")
                    };
                    self.in_value = true;
                    self.text(&field, s);
                    self.in_value = false;
                }
            }
        }
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
        let properties = schema.get("properties").and_then(Value::as_object);
        if input && is_object && depth > 0 && properties.is_none_or(Map::is_empty) {
            let additional = schema.get("additionalProperties");
            if !matches!(additional, Some(Value::Bool(false)))
                && !matches!(additional, Some(Value::Object(_)))
            {
                self.push(
                    "schema-free-form",
                    Severity::Low,
                    path,
                    "",
                    "a free-form object: the model may put anything here".into(),
                );
            }
        }
        if let Some(properties) = properties {
            for (name, property) in properties {
                let field = format!("{path}.properties.{name}");
                self.name(&field, name);
                if input && depth == 0 {
                    self.parameter_name(&field, name);
                }
                if let Value::Object(property) = property {
                    self.schema(&field, property, depth + 1, input);
                }
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(Value::Object(inner)) = schema.get(key) {
                self.schema(&format!("{path}.{key}"), inner, depth + 1, input);
            }
        }
        for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
            for (i, inner) in schema.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
                if let Value::Object(inner) = inner {
                    self.schema(&format!("{path}.{key}[{i}]"), inner, depth + 1, input);
                }
            }
        }
    }

    fn parameter_name(&mut self, field: &str, name: &str) {
        let key = name.to_lowercase().replace('-', "_");
        if EXFILTRATION_PARAMETERS.contains(&key.as_str()) {
            // A prompt-testing tool's `system_prompt` is its subject; a
            // calculator's is a channel out.
            let subject =
                key.split('_').filter(|part| part.len() > 3).any(|part| self.purpose.contains(part));
            self.push(
                "suspicious-parameter",
                if subject { Severity::Low } else { Severity::Medium },
                field,
                name,
                "a parameter named for the model's context or notes, a known exfiltration channel".into(),
            );
        } else if SECRET_PARAMETERS.contains(&key.as_str()) {
            self.push(
                "secret-parameter",
                Severity::Low,
                field,
                name,
                "a secret passed through the model; grant it as a host-injected secret instead".into(),
            );
        }
    }

    pub(in crate::vet) fn annotations(&mut self, annotations: &Map<String, Value>) {
        let flag = |key: &str| annotations.get(key).and_then(Value::as_bool);
        if flag("readOnlyHint") == Some(true) && flag("destructiveHint") == Some(true) {
            self.push(
                "annotation-contradiction",
                Severity::Medium,
                "annotations",
                "readOnlyHint: true, destructiveHint: true",
                "claims to be read-only and destructive at once".into(),
            );
        }
        static DESTRUCTIVE_VERB: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
            Regex::new(r"(?i)(?:^|[._-])(?:delete|remove|drop|destroy|wipe|erase|purge|truncate|kill)")
                .expect("valid regex")
        });
        if flag("readOnlyHint") == Some(true) && DESTRUCTIVE_VERB.is_match(self.tool_name) {
            self.push(
                "annotation-misleading",
                Severity::Medium,
                "annotations.readOnlyHint",
                self.tool_name,
                "the name says it changes or deletes things, the annotation says read-only".into(),
            );
        }
    }
}

pub(in crate::vet) fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

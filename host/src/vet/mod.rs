//! `moat vet`: reads tool definitions the way an attacker writes them.
//!
//! Owns: what a definition is read against ([`Context`]: its siblings, the
//! other components' tools, their parameters), vetting one definition or a
//! whole list (split across cores), text and output scanning, and the
//! escalation of findings that together make the canonical attack. The walk
//! over every string of a definition is `scanner`, the phrase rules are in
//! [`rules`], the reading of intent in [`intent`], the text machinery in [`text`].

pub mod cache;
pub mod capabilities;
mod gates;
pub mod intent;
pub mod names;
pub mod rules;
mod scanner;
pub mod text;

use serde_json::Value;

pub use crate::findings::{Finding, Severity, ToolFindings, worst};
use names::{NameSet, Names};
use scanner::Scanner;
use text::Normalized;

/// What a definition is read against.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Tool names of the same component or server: naming them is normal.
    pub siblings: Vec<String>,
    /// Tool names of other components or servers: naming them is shadowing.
    pub others: Vec<String>,
    /// Parameter names of the same component's or server's tools: a
    /// description naming a sibling's parameter names no foreign tool.
    pub vocabulary: Vec<String>,
}

impl Context {
    /// The siblings' names and parameters, for look-up ([`NameSet`]).
    pub fn names(&self) -> NameSet {
        NameSet::new(self.siblings.iter().chain(&self.vocabulary))
    }
}

/// Every parameter name of `tools`' input schemas (top level), lowercase.
pub fn parameter_names(tools: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = tools
        .iter()
        .filter_map(|tool| tool.pointer("/inputSchema/properties").and_then(Value::as_object))
        .flat_map(|properties| properties.keys().map(|k| k.to_lowercase()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Vets one MCP tool definition (`{"name", "title", "description", "inputSchema", ...}`).
pub fn vet_tool(tool: &Value, context: &Context) -> ToolFindings {
    vet_definition(tool, context, &context.names(), true, None)
}

/// One clause of a definition's text as the learned model reads it.
#[derive(Debug, Clone)]
pub struct LearnedClause {
    /// Where in the definition: `description`, `inputSchema.properties.path.description`, ...
    pub field: String,
    /// The clause, normalised.
    pub text: String,
    /// The names of its features.
    pub features: Vec<String>,
}

/// Every clause the learned model reads in `tool`, with its features, as
/// `vet_tool` reads them: what `vet-train` learns from.
pub fn learned_clauses(tool: &Value, context: &Context) -> Vec<LearnedClause> {
    let mut clauses = Vec::new();
    vet_definition(tool, context, &context.names(), true, Some(&mut clauses));
    clauses
}

/// Vets a prompt or a resource given in a tool's shape (`name`, `title`,
/// `description`, `inputSchema` holding a prompt's arguments, `uri`): every
/// string is read as a tool's is; the name is not held to the tool-name rule.
pub fn vet_other_definition(definition: &Value, context: &Context) -> ToolFindings {
    let mut findings = vet_definition(definition, context, &context.names(), false, None);
    let kind = definition.get("kind").and_then(Value::as_str).unwrap_or("definition");
    findings.name = format!("{kind} {}", findings.name);
    findings
}

fn vet_definition(
    tool: &Value,
    context: &Context,
    shared: &NameSet,
    is_tool: bool,
    learned: Option<&mut Vec<LearnedClause>>,
) -> ToolFindings {
    let name = tool.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let mut findings = Vec::new();
    let mut own = NameSet::new([&name]);
    let others_lowercase: Vec<String> = context.others.iter().map(|o| o.to_lowercase()).collect();
    if let Some(properties) = tool.pointer("/inputSchema/properties").and_then(Value::as_object) {
        properties.keys().for_each(|key| own.insert(key));
    }
    let purpose =
        Normalized::new(&format!("{name} {}", tool.get("description").and_then(Value::as_str).unwrap_or("")))
            .text;
    let mut scanner = Scanner {
        context,
        tool_name: &name,
        findings: &mut findings,
        output: false,
        in_value: false,
        names: Names { shared, own: &own },
        purpose: &purpose,
        others_lowercase: &others_lowercase,
        learned,
    };
    scanner.name("name", &name);
    if is_tool && let Err(reason) = crate::tools::validate_tool_name(&name) {
        scanner.push("schema-name", Severity::Medium, "name", &name, reason);
    }
    for key in ["title", "description", "uri"] {
        if let Some(text) = tool.get(key).and_then(Value::as_str) {
            scanner.text(key, text);
        }
    }
    if let Some(annotations) = tool.get("annotations").and_then(Value::as_object) {
        if let Some(title) = annotations.get("title").and_then(Value::as_str) {
            scanner.text("annotations.title", title);
        }
        scanner.annotations(annotations);
    }
    match tool.get("inputSchema") {
        Some(Value::Object(schema)) if schema.get("type").and_then(Value::as_str) == Some("object") => {
            scanner.schema("inputSchema", schema, 0, true)
        }
        _ => scanner.push(
            "schema-invalid",
            Severity::Medium,
            "inputSchema",
            "",
            "inputSchema is missing or not an object schema, as MCP requires".into(),
        ),
    }
    if let Some(Value::Object(schema)) = tool.get("outputSchema") {
        scanner.schema("outputSchema", schema, 0, false);
    }
    escalate_combinations(&mut findings);
    ToolFindings { name, findings }
}

/// Vets a list of tools served together (one component or one server):
/// each tool's siblings are the others of the list.
pub fn vet_tools(tools: &[Value], others: &[String]) -> Vec<ToolFindings> {
    let siblings: Vec<String> =
        tools.iter().filter_map(|t| t.get("name").and_then(Value::as_str).map(String::from)).collect();
    let context = Context { siblings, others: others.to_vec(), vocabulary: parameter_names(tools) };
    let shared = context.names();
    // Definitions are vetted independently: a long list is split across the
    // machine's cores, and the findings keep the list's order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = tools.len().div_ceil(threads).max(64);
    if tools.len() <= chunk {
        return tools.iter().map(|tool| vet_definition(tool, &context, &shared, true, None)).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = tools
            .chunks(chunk)
            .map(|part| {
                let (context, shared) = (&context, &shared);
                scope.spawn(move || {
                    part.iter()
                        .map(|tool| vet_definition(tool, context, shared, true, None))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|worker| worker.join().expect("vet does not panic")).collect()
    })
}

/// Scans one piece of a definition's text with the text rules.
pub fn vet_text(field: &str, text: &str, context: &Context) -> Vec<Finding> {
    scan_text(field, text, context, false)
}

/// Scans text a tool returned with the text rules. Unlike a description,
/// output may name tools (a listing of tools, a tool's own name in a message):
/// only instructions to call one are findings.
pub fn vet_output(field: &str, text: &str, context: &Context) -> Vec<Finding> {
    scan_text(field, text, context, true)
}

fn scan_text(field: &str, text: &str, context: &Context, output: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    // The intent reader, which needs these, reads definitions, not output.
    let others_lowercase: Vec<String> =
        if output { Vec::new() } else { context.others.iter().map(|o| o.to_lowercase()).collect() };
    // Output is scanned on every call: no set is built when there are no names.
    static NONE: std::sync::LazyLock<NameSet> = std::sync::LazyLock::new(NameSet::default);
    let built;
    let shared = if context.siblings.is_empty() && context.vocabulary.is_empty() {
        &*NONE
    } else {
        built = context.names();
        &built
    };
    let mut scanner = Scanner {
        context,
        tool_name: "",
        findings: &mut findings,
        output,
        in_value: false,
        names: Names { shared, own: &NONE },
        purpose: "",
        others_lowercase: &others_lowercase,
        learned: None,
    };
    scanner.text(field, text);
    findings
}

/// A tool that asks for secrets and also asks for silence is the canonical
/// poisoning attack: both findings become critical.
fn escalate_combinations(findings: &mut [Finding]) {
    let has = |ids: &[&str]| findings.iter().any(|f| ids.contains(&f.rule.as_str()));
    let takes = has(&[
        "sensitive-file",
        "credential-request",
        "context-exfiltration",
        "exfiltration-url",
        "data-request",
    ]);
    let hides = has(&["concealment", "hidden-instructions", "invisible-characters"]);
    if takes && hides {
        for finding in findings.iter_mut() {
            if matches!(
                finding.rule.as_str(),
                "sensitive-file"
                    | "credential-request"
                    | "context-exfiltration"
                    | "exfiltration-url"
                    | "data-request"
            ) {
                finding.severity = Severity::Critical;
            }
        }
    }
}

#[cfg(test)]
mod tests;

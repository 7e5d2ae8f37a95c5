//! `moat inspect`: what a component is, as `moat serve` would serve it: its
//! tools and schemas, imports, grants, metadata and digest, as text or JSON.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::config::Config;
use crate::load::surface::read_tools;
use crate::tools::{Naming, ToolDef, mcp_tool};

pub(super) fn inspect(path: &Path, name: Option<&str>, config: Option<&Path>) -> Result<()> {
    let name = match name {
        Some(name) => name.to_string(),
        None => path.file_stem().and_then(|s| s.to_str()).unwrap_or("component").replace('_', "-"),
    };
    crate::config::validate_component_name(&name)?;
    let (policy, naming) = match config {
        Some(config) => {
            let spec =
                Config::load(config)?.components.into_iter().find(|c| c.name == name).with_context(|| {
                    format!("{} has no component named `{name}` (use --name)", config.display())
                })?;
            (spec.policy.clone(), spec.naming())
        }
        None => (Default::default(), Naming::new(&name)),
    };
    let (read, derived) = read_tools(path, &naming)?;
    let linkable = read.link_error();
    let (file, imports) = (&read.file, &read.surface.imports);
    let grants = policy.describe();
    let warnings = policy.ungranted_imports(imports);
    let tools: Vec<ToolDef> = derived.definitions().cloned().collect();
    let unavailable: Vec<(&str, &str)> =
        derived.not_tools.iter().map(|n| (n.path.as_str(), n.reason.as_str())).collect();
    let tool_json = |t: &ToolDef| {
        let mut value = serde_json::to_value(mcp_tool(t)).expect("tools serialise");
        value["x-moat-generated-description"] = json!(t.generated_description);
        value
    };
    let report = json!({
        "path": path.display().to_string(),
        "digest": file.digest,
        "size": file.bytes.len(),
        "metadata": file.metadata.as_ref().map(|m| json!({"world": m.world, "functions": m.functions.len()})),
        "imports": imports,
        "grants": grants,
        "warnings": warnings,
        "links": linkable.is_none(),
        "link_error": linkable,
        "tools": tools.iter().map(tool_json).collect::<Vec<_>>(),
        "resources": derived.resources.iter().map(|(d, _)| d.mcp()).collect::<Vec<_>>(),
        "resource_templates": derived.templates.iter().map(|(d, _)| d.mcp()).collect::<Vec<_>>(),
        "prompts": derived.prompts.iter().map(|(d, _)| d.mcp()).collect::<Vec<_>>(),
        "completions": derived.completions.iter().map(|(d, _, _)| d.of.clone()).collect::<Vec<_>>(),
        "unavailable": unavailable.iter().map(|(f, r)| json!({"function": f, "reason": r})).collect::<Vec<_>>(),
    });
    if super::output::json() {
        super::output::result(&report);
        return Ok(());
    }
    print_inspect_text(&report, &tools);
    Ok(())
}

fn print_inspect_text(report: &Value, tools: &[ToolDef]) {
    outln!("component  {}", report["path"].as_str().unwrap_or_default());
    outln!("digest     {}", report["digest"].as_str().unwrap_or_default());
    outln!("size       {} bytes", report["size"]);
    match report["metadata"].as_object() {
        Some(m) => outln!(
            "metadata   embedded, world {} ({} functions documented)",
            m["world"].as_str().unwrap_or_default(),
            m["functions"]
        ),
        None => outln!("metadata   none: descriptions are generated (build with `moat pack`)"),
    }
    outln!("imports");
    let imports = report["imports"].as_array().cloned().unwrap_or_default();
    if imports.is_empty() {
        outln!("  none: the component needs nothing from the host, not even WASI");
    }
    for import in imports {
        outln!("  {}", import.as_str().unwrap_or_default());
    }
    if let Some(error) = report["link_error"].as_str() {
        outln!("  ! cannot be served by this host: {error}");
    }
    outln!("grants");
    let grants = report["grants"].as_array().cloned().unwrap_or_default();
    if grants.is_empty() {
        outln!("  none: the component can reach nothing outside itself");
    }
    for grant in grants {
        outln!("  {}", grant.as_str().unwrap_or_default());
    }
    for warning in report["warnings"].as_array().into_iter().flatten() {
        outln!("  ! {}", warning.as_str().unwrap_or_default());
    }
    outln!("tools");
    for tool in tools {
        let mut hints = Vec::new();
        for (set, label) in [
            (tool.hints.read_only == Some(true), "read-only"),
            (tool.hints.destructive == Some(true), "destructive"),
            (tool.hints.destructive == Some(false), "non-destructive"),
            (tool.hints.idempotent == Some(true), "idempotent"),
            (tool.hints.open_world == Some(false), "closed-world"),
            (tool.hints.open_world == Some(true), "open-world"),
        ] {
            if set {
                hints.push(label);
            }
        }
        let hints = if hints.is_empty() { String::new() } else { format!("  [{}]", hints.join(", ")) };
        outln!("  {}{hints}", tool.name);
        for line in tool.description.lines() {
            outln!("      {line}");
        }
        outln!("      input:  {}", Value::Object((*tool.input_schema).clone()));
        if let Some(output) = &tool.output_schema {
            outln!("      output: {}", Value::Object((**output).clone()));
        } else if tool.returns_content() {
            outln!("      output: content blocks (moat:host/content)");
        }
    }
    let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_string();
    let describe = |value: &Value| {
        for line in text(value, "description").lines() {
            outln!("      {line}");
        }
    };
    let listed = |key: &str| report[key].as_array().cloned().unwrap_or_default();
    let completed: Vec<String> =
        listed("completions").iter().filter_map(|c| c.as_str().map(String::from)).collect();
    let resources = listed("resources");
    let templates = listed("resource_templates");
    if !resources.is_empty() || !templates.is_empty() {
        outln!("resources");
        for resource in resources {
            let mime = text(&resource, "mimeType");
            outln!(
                "  {}  {}{}",
                text(&resource, "uri"),
                text(&resource, "name"),
                if mime.is_empty() { String::new() } else { format!("  ({mime})") }
            );
            describe(&resource);
        }
        for template in templates {
            outln!("  {}  {}  (template)", text(&template, "uriTemplate"), text(&template, "name"));
            describe(&template);
        }
    }
    let prompts = listed("prompts");
    if !prompts.is_empty() {
        outln!("prompts");
        for prompt in prompts {
            let arguments: Vec<String> = prompt["arguments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    let optional = if a["required"] == Value::Bool(true) { "" } else { "?" };
                    format!("{}{optional}", text(a, "name"))
                })
                .collect();
            outln!("  {}({})", text(&prompt, "name"), arguments.join(", "));
            describe(&prompt);
        }
    }
    if !completed.is_empty() {
        outln!("completes  {}", completed.join(", "));
    }
    let unavailable = report["unavailable"].as_array().cloned().unwrap_or_default();
    if !unavailable.is_empty() {
        outln!("not tools");
        for item in unavailable {
            outln!(
                "  {}: {}",
                item["function"].as_str().unwrap_or_default(),
                item["reason"].as_str().unwrap_or_default()
            );
        }
    }
}

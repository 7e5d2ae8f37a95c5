//! Exported functions as MCP tool definitions, and call results as MCP content.
//!
//! Owns: a tool's definition ([`ToolDef`]) and its form in rmcp's model
//! ([`mcp_tool`]), which the lock pins, vet reads and tools/list sends; tool
//! naming (`component.function`, `component.interface.function`) and the MCP
//! name rule; descriptions from embedded metadata (or generated ones,
//! flagged), input/output schemas from the signature, annotations; and the
//! shape of results: a top-level `result<T, E>` makes `err` a tool error, and
//! a result of `list<block>` ([`crate::content`]) is the content itself.

use std::sync::Arc;

use rmcp::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::component::{ExportedFunction, Signature};
use crate::content::{self, Block, ContentError, Output, Rendered};
use crate::convert::{self, ConvertError, JsonPath};
use crate::metadata::{FunctionDocs, Hints, NameStyle, ToolMetadata};
use crate::schema::{Conventions, object_schema, schema_for};
use crate::types::ValType;
use wasmtime::component::Val;

/// How a component's functions are named as tools: `NAME.function`, unless
/// the config gives a function a name of its own (`names = { f = "t" }`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    pub component: String,
    /// Function path (`func` or `interface#func`) → tool name.
    pub aliases: std::collections::BTreeMap<String, String>,
}

impl Naming {
    pub fn new(component: &str) -> Naming {
        Naming { component: component.to_string(), aliases: Default::default() }
    }

    /// The MCP name of `function`, its own part spelled in `style` (the
    /// world's `@tool-names`).
    pub fn tool_name(&self, function: &ExportedFunction, style: Option<NameStyle>) -> Result<String, String> {
        match self.aliases.get(&function.path) {
            Some(alias) => {
                validate_tool_name(alias)?;
                Ok(alias.clone())
            }
            None => tool_name(&self.component, function, style),
        }
    }

    /// Aliases naming no exported function (a typo in the config).
    pub fn unknown_aliases<'a>(
        &'a self,
        functions: &'a [ExportedFunction],
    ) -> impl Iterator<Item = &'a String> {
        self.aliases.keys().filter(|key| {
            let path = key.split_once('(').map_or(key.as_str(), |(path, _)| path);
            !functions.iter().any(|f| f.path == path)
        })
    }

    /// The key renaming argument `param` of a prompt: `FUNCTION(PARAM)`
    /// (WIT names never hold parentheses).
    pub fn argument_key(function: &str, param: &str) -> String {
        format!("{function}({param})")
    }

    /// The name clients send for `param` of prompt `function`: the
    /// parameter's own, unless the config renames it (`"f(p)" = "name"`,
    /// for a client that expects a name WIT cannot spell, like `resourceUri`).
    pub fn argument_name(&self, function: &ExportedFunction, param: &str) -> String {
        let key = Naming::argument_key(&function.path, param);
        self.aliases.get(&key).cloned().unwrap_or_else(|| param.to_string())
    }

    /// The `FUNCTION(PARAM)` entries: renamed prompt arguments.
    pub fn argument_aliases(&self) -> impl Iterator<Item = (&String, &String)> {
        self.aliases.iter().filter(|(key, _)| key.contains('('))
    }
}

/// Why an exported function is not a tool: the component was packed from a
/// WIT world that does not declare it. Language toolchains add exports of
/// their own (componentize-py's `exports#init`, its runtime's initialiser),
/// and only what the author's world declares is offered to the model.
pub fn undeclared(metadata: Option<&ToolMetadata>, function: &ExportedFunction) -> Option<String> {
    let metadata = metadata?;
    (!metadata.functions.contains_key(&function.path)).then(|| {
        format!(
            "not declared by the WIT world it was packed from ({}): an export of the language toolchain, not a tool",
            metadata.world
        )
    })
}

/// The longest tool name MCP allows.
pub const MAX_TOOL_NAME: usize = 128;

/// A tool as the model sees it, with what the host needs to call it.
#[derive(Debug, Clone)]
pub struct ToolDef {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    /// True when the description was generated because none was embedded.
    pub generated_description: bool,
    pub hints: Hints,
    pub signature: Signature,
    /// How its JSON spells names and treats options (the world's `@json`).
    pub conv: Conventions,
    /// `@text FIELD`: the JSON name of the returned record's field that is
    /// the result's text block.
    pub text_field: Option<String>,
    /// Shared with the MCP tool list, which holds them as they are.
    pub input_schema: Arc<Map<String, Value>>,
    pub output_schema: Option<Arc<Map<String, Value>>>,
}

/// The MCP name of an exported function: `component.function`, or
/// `component.interface.function` for a function of an exported interface
/// (`interface` being the short name, without package or version). The
/// function's part is spelled in `style` (`read_file` under `@tool-names
/// snake_case`).
pub fn tool_name(
    component: &str,
    function: &ExportedFunction,
    style: Option<NameStyle>,
) -> Result<String, String> {
    let own = match style {
        Some(style) => style.spell(&function.name)?,
        None => function.name.clone(),
    };
    let name = match &function.interface {
        Some(interface) => format!("{component}.{}.{own}", interface_short_name(interface)),
        None => format!("{component}.{own}"),
    };
    validate_tool_name(&name)?;
    Ok(name)
}

/// `moat:text/tools@0.1.0` → `tools`; a plain name stays as it is.
pub fn interface_short_name(interface: &str) -> &str {
    let without_version = interface.split('@').next().unwrap_or(interface);
    without_version.rsplit('/').next().unwrap_or(without_version)
}

/// MCP's rule for tool names: `[A-Za-z0-9_.-]{1,128}`.
pub fn validate_tool_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_TOOL_NAME {
        return Err(format!("tool name `{name}` must be 1 to {MAX_TOOL_NAME} characters long"));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!("tool name `{name}` contains {bad:?}, outside [A-Za-z0-9_.-]"));
    }
    Ok(())
}

impl ToolDef {
    /// Builds the definition of `function` (which must have a signature) of
    /// component `component`, documented by `docs` when the component embeds
    /// them, its JSON spelled by `conv`. Refused when `conv` cannot spell one
    /// of its names.
    pub fn new(
        name: String,
        component: &str,
        function: &ExportedFunction,
        signature: Signature,
        docs: Option<&FunctionDocs>,
        conv: Conventions,
    ) -> Result<ToolDef, String> {
        // The arguments are an object too: their names, and every record inside.
        conv.check(&ValType::Record(signature.params.clone()))?;
        if let Some(result) = &signature.result {
            conv.check(result)?;
        }
        let text_field = match docs.and_then(|d| d.text.as_deref()) {
            None => None,
            Some(field) => match payload_type(&signature) {
                Some(ValType::Record(fields)) if fields.iter().any(|(name, _)| name == field) => {
                    Some(conv.name(field).into_owned())
                }
                _ => return Err(format!("`@text {field}` names no field of the record it returns")),
            },
        };
        let (description, generated_description) = match docs {
            Some(docs) if !docs.description.is_empty() => (docs.description.clone(), false),
            _ => (
                format!(
                    "`{}` of component `{component}` (no description was embedded; build it with `moat pack`)",
                    function.name
                ),
                true,
            ),
        };
        let input_schema = Arc::new(input_schema(&signature, docs, conv));
        let output_schema = payload_type(&signature)
            .filter(|ty| !content::is_block_list(ty))
            .map(|ty| Arc::new(output_schema(ty, conv)));
        Ok(ToolDef {
            name,
            title: docs.and_then(|d| d.title.clone()),
            description,
            generated_description,
            hints: docs.map(|d| d.hints).unwrap_or_default(),
            signature,
            conv,
            text_field,
            input_schema,
            output_schema,
        })
    }

    /// Converts and validates JSON arguments; the guest never sees what fails here.
    pub fn arguments(&self, args: Option<&Map<String, Value>>) -> Result<Vec<Val>, ConvertError> {
        convert::args_to_vals(&self.signature.params, args, self.conv)
    }

    /// Whether the tool returns content blocks rather than a typed value.
    pub fn returns_content(&self) -> bool {
        payload_type(&self.signature).is_some_and(content::is_block_list)
    }

    /// Turns the value a call returned into what the client receives.
    pub fn render(&self, result: Option<&Val>) -> Result<Rendered, RenderError> {
        let root = JsonPath::root();
        let (payload_ty, payload, failed) = match (&self.signature.result, result) {
            (None, _) | (Some(_), None) => {
                return Ok(Rendered::Success(Output::Tool { content: Vec::new(), structured: None }));
            }
            (Some(ValType::Result { ok, err }), Some(Val::Result(outcome))) => match outcome {
                Ok(payload) => (ok.as_deref(), payload.as_deref(), false),
                Err(payload) => (err.as_deref(), payload.as_deref(), true),
            },
            (Some(ty), Some(val)) => (Some(ty), Some(val), false),
        };
        if let (false, Some(ty), Some(val)) = (failed, payload_ty, payload)
            && content::is_block_list(ty)
        {
            return Ok(Rendered::Success(Output::Tool { content: content::blocks(val)?, structured: None }));
        }
        let json = match (payload_ty, payload) {
            (Some(ty), Some(val)) => Some(convert::to_json(ty, val, &root, self.conv)?),
            _ => None,
        };
        let shown = match (&self.text_field, &json, failed) {
            (Some(field), Some(Value::Object(record)), false) => record.get(field),
            _ => json.as_ref(),
        };
        let text = match shown {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None if failed => "the tool reported an error without details".to_string(),
            None => String::new(),
        };
        if failed {
            return Ok(Rendered::Error(text));
        }
        let structured = json.map(|json| match self.output_is_wrapped() {
            true => json!({ "result": json }),
            false => json,
        });
        // A chosen text field is sent even when empty: it is the answer.
        let content =
            if text.is_empty() && self.text_field.is_none() { Vec::new() } else { vec![Block::text(text)] };
        Ok(Rendered::Success(Output::Tool { content, structured }))
    }

    /// Whether structured output is wrapped as `{"result": ...}` (MCP requires an
    /// object; records are objects already).
    fn output_is_wrapped(&self) -> bool {
        !matches!(payload_type(&self.signature), Some(ValType::Record(_)))
    }
}

/// Why a returned value cannot be sent to the client.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the result cannot be sent as JSON: {0}")]
    Json(#[from] ConvertError),
    #[error("a content block cannot be sent: {0}")]
    Content(#[from] ContentError),
}

/// The type a successful call yields: the `ok` side of a top-level `result`.
fn payload_type(signature: &Signature) -> Option<&ValType> {
    match &signature.result {
        Some(ValType::Result { ok, .. }) => ok.as_deref(),
        other => other.as_ref(),
    }
}

fn input_schema(signature: &Signature, docs: Option<&FunctionDocs>, conv: Conventions) -> Map<String, Value> {
    let properties = signature.params.iter().map(|(name, ty)| {
        let mut schema = schema_for(ty, conv);
        if let (Some(text), Some(object)) = (docs.and_then(|d| d.params.get(name)), schema.as_object_mut()) {
            object.insert("description".into(), Value::String(text.clone()));
        }
        (conv.name(name).into_owned(), schema, conv.omissible(ty))
    });
    into_map(object_schema(properties))
}

fn output_schema(ty: &ValType, conv: Conventions) -> Map<String, Value> {
    match ty {
        ValType::Record(_) => into_map(schema_for(ty, conv)),
        other => {
            into_map(object_schema([("result".to_string(), schema_for(other, conv), false)].into_iter()))
        }
    }
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("object schemas are objects"),
    }
}

/// A tool definition in rmcp's model.
pub fn mcp_tool(def: &ToolDef) -> Tool {
    let mut tool =
        Tool::new_with_raw(def.name.clone(), Some(def.description.clone().into()), def.input_schema.clone());
    if let Some(output) = &def.output_schema {
        tool = tool.with_raw_output_schema(output.clone());
    }
    if let Some(title) = &def.title {
        tool = tool.with_title(title.clone());
    }
    let hints = def.hints;
    if !hints.is_empty() {
        tool = tool.with_annotations(ToolAnnotations::from_raw(
            None,
            hints.read_only,
            hints.destructive,
            hints.idempotent,
            hints.open_world,
        ));
    }
    tool
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(result: Option<ValType>) -> ToolDef {
        ToolDef {
            name: "c.f".into(),
            title: None,
            description: String::new(),
            generated_description: false,
            hints: Hints::default(),
            signature: Signature { params: vec![], result },
            conv: Conventions::WIT,
            text_field: None,
            input_schema: Default::default(),
            output_schema: None,
        }
    }

    #[test]
    fn names_follow_the_mcp_rule() {
        assert_eq!(interface_short_name("moat:text/tools@0.1.0"), "tools");
        assert_eq!(interface_short_name("tools"), "tools");
        assert!(validate_tool_name("text.word-count").is_ok());
        assert!(validate_tool_name(&"a".repeat(129)).is_err());
        assert!(validate_tool_name("a b").is_err());
    }

    #[test]
    fn result_err_is_a_tool_error_and_ok_the_payload() {
        let ty = ValType::Result { ok: Some(Box::new(ValType::U32)), err: Some(Box::new(ValType::String)) };
        let tool = def(Some(ty));
        let err = Val::Result(Err(Some(Box::new(Val::String("no such key".into())))));
        assert_eq!(tool.render(Some(&err)).unwrap(), Rendered::Error("no such key".into()));
        let ok = Val::Result(Ok(Some(Box::new(Val::U32(7)))));
        assert_eq!(
            tool.render(Some(&ok)).unwrap(),
            Rendered::Success(Output::Tool {
                content: vec![Block::text("7")],
                structured: Some(json!({"result": 7}))
            })
        );
    }

    #[test]
    fn text_tag_shows_one_field_and_structures_the_record() {
        let record =
            ValType::Record(vec![("success".into(), ValType::Bool), ("message".into(), ValType::String)]);
        let mut tool = def(Some(record));
        tool.text_field = Some("message".into());
        let val = Val::Record(vec![
            ("success".into(), Val::Bool(true)),
            ("message".into(), Val::String("done".into())),
        ]);
        assert_eq!(
            tool.render(Some(&val)).unwrap(),
            Rendered::Success(Output::Tool {
                content: vec![Block::text("done")],
                structured: Some(json!({"success": true, "message": "done"}))
            })
        );
    }

    #[test]
    fn records_are_structured_as_they_are_strings_as_text() {
        let record = ValType::Record(vec![("words".into(), ValType::U32)]);
        let tool = def(Some(record));
        let val = Val::Record(vec![("words".into(), Val::U32(3))]);
        assert_eq!(
            tool.render(Some(&val)).unwrap(),
            Rendered::Success(Output::Tool {
                content: vec![Block::text("{\"words\":3}")],
                structured: Some(json!({"words": 3}))
            })
        );
        let tool = def(Some(ValType::String));
        let Rendered::Success(Output::Tool { content, .. }) =
            tool.render(Some(&Val::String("plain".into()))).unwrap()
        else {
            panic!()
        };
        assert_eq!(content, vec![Block::text("plain")]);
    }
}

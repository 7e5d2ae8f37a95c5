//! Prompts, served from exported functions tagged `@prompt`
//! (`wit/README.md`).
//!
//! Owns: what a prompt function must look like (parameters `string`, or
//! `option<string>` for an optional argument; a result of `list<message>`
//! of `moat:host/content`, optionally inside `result<_, string>`), its MCP
//! definition (arguments described by `@param`), the arguments of a
//! `prompts/get` as component values, and its returned messages, checked.

use std::collections::BTreeMap;

use rmcp::model::{Prompt, PromptArgument};
use wasmtime::component::Val;

use crate::component::{ExportedFunction, Signature};
use crate::content::{self, ContentError, Output, Rendered};
use crate::metadata::FunctionDocs;
use crate::types::ValType;

/// One argument of a prompt.
#[derive(Debug, Clone)]
pub struct ArgumentDef {
    /// The WIT parameter.
    pub param: String,
    /// The name clients send (the parameter's, unless the config renames it).
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

/// A prompt.
#[derive(Debug, Clone)]
pub struct PromptDef {
    /// `component.function`, like a tool's name.
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub arguments: Vec<ArgumentDef>,
    pub signature: Signature,
}

/// Why a `prompts/get` cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PromptArgumentsError(pub String);

impl PromptDef {
    /// `argument_name` gives the name clients send for a parameter.
    pub fn new(
        name: String,
        function: &ExportedFunction,
        signature: Signature,
        docs: &FunctionDocs,
        argument_name: impl Fn(&str) -> String,
    ) -> Result<PromptDef, String> {
        let at = || format!("`{}` (@prompt)", function.path);
        let mut arguments = Vec::new();
        for (param, ty) in &signature.params {
            let required = match ty {
                ValType::String => true,
                ValType::Option(inner) if **inner == ValType::String => false,
                _ => {
                    return Err(format!(
                        "{}: parameter `{param}` must be a `string` or `option<string>` (prompt arguments are text)",
                        at()
                    ));
                }
            };
            let description = docs.params.get(param).cloned().filter(|d| !d.is_empty());
            arguments.push(ArgumentDef {
                param: param.clone(),
                name: argument_name(param),
                description,
                required,
            });
        }
        let messages = match &signature.result {
            Some(ValType::Result { ok: Some(ok), err })
                if matches!(err.as_deref(), Some(ValType::String)) =>
            {
                ok
            }
            Some(ValType::Result { .. }) => {
                return Err(format!("{}: its `result` must have a `string` error", at()));
            }
            Some(other) => other,
            None => return Err(format!("{}: a prompt must return `list<message>`", at())),
        };
        if !content::is_message_list(messages) {
            return Err(format!("{}: a prompt must return `list<message>` of moat:host/content", at()));
        }
        Ok(PromptDef {
            name,
            title: docs.title.clone(),
            description: Some(docs.description.clone()).filter(|d| !d.is_empty()),
            arguments,
            signature,
        })
    }

    /// Its entry in `prompts/list`.
    pub fn mcp(&self) -> Prompt {
        let arguments = self
            .arguments
            .iter()
            .map(|argument| {
                let mut mcp = PromptArgument::new(argument.name.clone());
                mcp.description = argument.description.clone();
                mcp.required = Some(argument.required);
                mcp
            })
            .collect::<Vec<_>>();
        let mut prompt = Prompt::new(self.name.clone(), self.description.clone(), Some(arguments));
        prompt.title = self.title.clone();
        prompt
    }

    /// The component values of a `prompts/get`'s arguments: every required
    /// one present, none unknown.
    pub fn arguments(
        &self,
        given: Option<&BTreeMap<String, String>>,
    ) -> Result<Vec<Val>, PromptArgumentsError> {
        let empty = BTreeMap::new();
        let given = given.unwrap_or(&empty);
        if let Some(unknown) = given.keys().find(|name| !self.arguments.iter().any(|a| &a.name == *name)) {
            return Err(PromptArgumentsError(format!("prompt `{}` has no argument `{unknown}`", self.name)));
        }
        self.arguments
            .iter()
            .map(|argument| match (given.get(&argument.name), argument.required) {
                (Some(value), true) => Ok(Val::String(value.clone())),
                (Some(value), false) => Ok(Val::Option(Some(Box::new(Val::String(value.clone()))))),
                (None, false) => Ok(Val::Option(None)),
                (None, true) => Err(PromptArgumentsError(format!(
                    "prompt `{}` needs its argument `{}`",
                    self.name, argument.name
                ))),
            })
            .collect()
    }

    /// The returned value as checked messages.
    pub fn render(&self, result: Option<&Val>) -> Result<Rendered, ContentError> {
        let value = match result {
            Some(Val::Result(Err(error))) => {
                let text = match error.as_deref() {
                    Some(Val::String(text)) => text.clone(),
                    _ => "the prompt could not be made".to_string(),
                };
                return Ok(Rendered::Error(text));
            }
            Some(Val::Result(Ok(Some(value)))) => value.as_ref(),
            Some(value) => value,
            None => {
                return Err(ContentError { at: "messages".into(), reason: "no value was returned".into() });
            }
        };
        Ok(Rendered::Success(Output::Prompt(content::messages(value)?)))
    }
}

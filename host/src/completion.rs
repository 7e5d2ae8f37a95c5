//! Completion of prompt arguments and resource-template variables, answered
//! by the component: an exported function tagged `@completes FUNCTION`
//! (`wit/README.md`) that takes the argument's WIT name and the partial
//! value and returns suggestions.
//!
//! Owns: what such a function must look like (`func(argument: string,
//! value: string) -> list<string>`) and its returned suggestions, checked
//! and cut to MCP's 100 values.

use wasmtime::component::Val;

use crate::component::{ExportedFunction, Signature};
use crate::content::{ContentError, Output, Rendered};
use crate::types::ValType;

/// The most values one completion carries (MCP's bound).
pub const MAX_VALUES: usize = 100;

/// A completion function: which function it completes, and its signature.
#[derive(Debug, Clone)]
pub struct CompletionDef {
    /// The export path of the prompt or template function it completes.
    pub of: String,
    pub signature: Signature,
}

impl CompletionDef {
    pub fn new(of: &str, function: &ExportedFunction, signature: Signature) -> Result<CompletionDef, String> {
        let fits = signature.params.len() == 2
            && signature.params.iter().all(|(_, ty)| *ty == ValType::String)
            && signature.result == Some(ValType::List(Box::new(ValType::String)));
        if !fits {
            return Err(format!(
                "`{}` (@completes {of}) must be `func(argument: string, value: string) -> list<string>`",
                function.path
            ));
        }
        Ok(CompletionDef { of: of.to_string(), signature })
    }

    /// The suggestions, at most [`MAX_VALUES`] of them.
    pub fn render(result: Option<&Val>) -> Result<Rendered, ContentError> {
        let Some(Val::List(items)) = result else {
            return Err(ContentError { at: "completion".into(), reason: "not a list of strings".into() });
        };
        let values = items
            .iter()
            .take(MAX_VALUES)
            .map(|item| match item {
                Val::String(value) => Ok(value.clone()),
                _ => Err(ContentError { at: "completion".into(), reason: "not a list of strings".into() }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rendered::Success(Output::Completion { values, total: items.len() }))
    }
}

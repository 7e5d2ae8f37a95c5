//! Resources and resource templates, served from exported functions tagged
//! `@resource URI` or `@resource-template TEMPLATE` (`wit/README.md`).
//!
//! Owns: what such a function must look like (a resource takes nothing; a
//! template takes one `string` per variable of its template; both return
//! `resource-contents` or a list of them, optionally inside
//! `result<_, string>`), their MCP definitions, matching a URI against a
//! template, and turning the returned value into checked contents.
//!
//! URI templates are RFC 6570 level 1 (`{var}`, simple string expansion):
//! the crates for RFC 6570 expand templates, while a server must match them,
//! the inverse, so the matcher is here. A variable matches one or more
//! characters other than `/`, `?` and `#` (simple expansion percent-encodes
//! those), percent-decoded.

use rmcp::model::{Resource, ResourceTemplate};
use wasmtime::component::Val;

use crate::component::{ExportedFunction, Signature};
use crate::content::{self, ContentError, Output, Rendered};
use crate::metadata::{FunctionDocs, Serves};
use crate::types::ValType;

/// A resource at a fixed URI.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    pub uri: String,
    /// Its programmatic name: `component.function`, like a tool's.
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    pub signature: Signature,
}

/// The resources whose URIs match a template.
#[derive(Debug, Clone)]
pub struct TemplateDef {
    pub template: UriTemplate,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    pub signature: Signature,
}

/// A level-1 URI template: literal text and `{variable}`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    pub text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl UriTemplate {
    pub fn parse(text: &str) -> Result<UriTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes()[open] == b'}' {
                return Err(format!("URI template `{text}` has a `}}` without its `{{`"));
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("URI template `{text}` has an unclosed `{{`"))?;
            let name = &rest[open + 1..open + close];
            let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!(
                    "URI template `{text}`: `{{{name}}}` is not a simple variable (moat serves RFC 6570 level 1: \
                     `{{name}}`, letters, digits and `_`)"
                ));
            }
            if matches!(parts.last(), Some(Part::Variable(_))) {
                return Err(format!("URI template `{text}`: two variables with nothing between them"));
            }
            if parts.iter().any(|p| matches!(p, Part::Variable(v) if v == name)) {
                return Err(format!("URI template `{text}` uses `{{{name}}}` twice"));
            }
            parts.push(Part::Variable(name.to_string()));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        let Some(Part::Literal(head)) = parts.first() else {
            return Err(format!("URI template `{text}` must start with a scheme"));
        };
        if url::Url::parse(&format!("{head}x")).is_err() || !head.contains(':') {
            return Err(format!("URI template `{text}` must start with an absolute URI's scheme"));
        }
        Ok(UriTemplate { text: text.to_string(), parts })
    }

    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The variables' values when `uri` matches, in template order.
    pub fn matches(&self, uri: &str) -> Option<Vec<(String, String)>> {
        let mut values = Vec::new();
        let mut rest = uri;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
                Part::Variable(name) => {
                    let stop = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                    // The value ends where the next literal starts, within this segment.
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => rest[..stop]
                            .find(next.as_str())
                            .or_else(|| rest[stop..].starts_with(next.as_str()).then_some(stop))?,
                        _ => stop,
                    };
                    if end == 0 || (parts.peek().is_none() && end != rest.len()) {
                        return None;
                    }
                    let value = percent_encoding::percent_decode_str(&rest[..end]).decode_utf8().ok()?;
                    values.push((name.clone(), value.into_owned()));
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(values)
    }
}

/// A resource function's result: `resource-contents` or a list, perhaps in
/// a `result<_, string>`.
fn check_result(signature: &Signature) -> Result<(), String> {
    let ok = match &signature.result {
        Some(ValType::Result { ok: Some(ok), err }) => {
            if !matches!(err.as_deref(), Some(ValType::String)) {
                return Err("a resource's `result` must have a `string` error".into());
            }
            ok.as_ref()
        }
        Some(other) => other,
        None => return Err("a resource function must return `resource-contents`".into()),
    };
    if content::is_resource_result(ok) {
        Ok(())
    } else {
        Err("a resource function must return `resource-contents` of moat:host/content, or a list of them"
            .into())
    }
}

impl ResourceDef {
    pub fn new(
        name: String,
        function: &ExportedFunction,
        signature: Signature,
        docs: &FunctionDocs,
    ) -> Result<ResourceDef, String> {
        let Serves::Resource { uri, mime_type } = &docs.serves else {
            unreachable!("called for @resource functions")
        };
        let at = || format!("`{}` (@resource {uri})", function.path);
        if url::Url::parse(uri).is_err() {
            return Err(format!("{}: `{uri}` is not an absolute URI", at()));
        }
        if !signature.params.is_empty() {
            return Err(format!(
                "{}: a resource takes no parameters (a template does: @resource-template)",
                at()
            ));
        }
        check_result(&signature).map_err(|e| format!("{}: {e}", at()))?;
        Ok(ResourceDef {
            uri: uri.clone(),
            name,
            title: docs.title.clone(),
            description: Some(docs.description.clone()).filter(|d| !d.is_empty()),
            mime_type: mime_type.clone(),
            signature,
        })
    }

    /// Its entry in `resources/list`.
    pub fn mcp(&self) -> Resource {
        let mut resource = Resource::new(self.uri.clone(), self.name.clone());
        resource.title = self.title.clone();
        resource.description = self.description.clone();
        resource.mime_type = self.mime_type.clone();
        resource
    }
}

impl TemplateDef {
    pub fn new(
        name: String,
        function: &ExportedFunction,
        signature: Signature,
        docs: &FunctionDocs,
    ) -> Result<TemplateDef, String> {
        let Serves::ResourceTemplate { template, mime_type } = &docs.serves else {
            unreachable!("called for @resource-template functions")
        };
        let at = || format!("`{}` (@resource-template {template})", function.path);
        let parsed = UriTemplate::parse(template).map_err(|e| format!("{}: {e}", at()))?;
        let variables: Vec<&str> = parsed.variables().collect();
        for (param, ty) in &signature.params {
            if !variables.contains(&variable_of(param).as_str()) {
                return Err(format!("{}: parameter `{param}` is not a variable of the template", at()));
            }
            if *ty != ValType::String {
                return Err(format!("{}: parameter `{param}` must be a `string`", at()));
            }
        }
        if let Some(missing) =
            variables.iter().find(|v| !signature.params.iter().any(|(p, _)| variable_of(p) == **v))
        {
            return Err(format!("{}: variable `{{{missing}}}` is not a parameter of the function", at()));
        }
        check_result(&signature).map_err(|e| format!("{}: {e}", at()))?;
        Ok(TemplateDef {
            template: parsed,
            name,
            title: docs.title.clone(),
            description: Some(docs.description.clone()).filter(|d| !d.is_empty()),
            mime_type: mime_type.clone(),
            signature,
        })
    }

    /// Its entry in `resources/templates/list`.
    pub fn mcp(&self) -> ResourceTemplate {
        let mut template = ResourceTemplate::new(self.template.text.clone(), self.name.clone());
        template.title = self.title.clone();
        template.description = self.description.clone();
        template.mime_type = self.mime_type.clone();
        template
    }

    /// The parameter of template variable `variable`.
    pub fn parameter_of(&self, variable: &str) -> Option<&str> {
        self.signature.params.iter().map(|(p, _)| p.as_str()).find(|p| variable_of(p) == variable)
    }

    /// The arguments of the read of `uri`, when it matches: the function's
    /// parameters from the template's variables.
    pub fn arguments(&self, uri: &str) -> Option<Vec<Val>> {
        let values = self.template.matches(uri)?;
        let args = self
            .signature
            .params
            .iter()
            .map(|(param, _)| {
                let value = values.iter().find(|(v, _)| *v == variable_of(param)).map(|(_, value)| value);
                Val::String(value.cloned().unwrap_or_default())
            })
            .collect();
        Some(args)
    }
}

/// The template variable of a WIT parameter: WIT's `-` is `_` in a
/// template (`{user_id}` for `user-id`).
fn variable_of(param: &str) -> String {
    param.replace('-', "_")
}

/// A read's returned value as checked contents.
pub fn render_read(signature: &Signature, result: Option<&Val>) -> Result<Rendered, ContentError> {
    let value = match (&signature.result, result) {
        (Some(ValType::Result { .. }), Some(Val::Result(Err(error)))) => {
            let text = match error.as_deref() {
                Some(Val::String(text)) => text.clone(),
                _ => "the resource could not be read".to_string(),
            };
            return Ok(Rendered::Error(text));
        }
        (Some(ValType::Result { .. }), Some(Val::Result(Ok(Some(value))))) => value.as_ref(),
        (_, Some(value)) => value,
        (_, None) => {
            return Err(ContentError { at: "contents".into(), reason: "no value was returned".into() });
        }
    };
    Ok(Rendered::Success(Output::Resource(content::resource_read(value)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_one_templates_match_and_decode() {
        let template = UriTemplate::parse("test://template/{id}/data").unwrap();
        assert_eq!(template.variables().collect::<Vec<_>>(), ["id"]);
        assert_eq!(template.matches("test://template/123/data"), Some(vec![("id".into(), "123".into())]));
        assert_eq!(template.matches("test://template/a%20b/data"), Some(vec![("id".into(), "a b".into())]));
        assert_eq!(template.matches("test://template//data"), None, "a variable is never empty");
        assert_eq!(template.matches("test://template/1/2/data"), None, "a variable holds no `/`");
        assert_eq!(template.matches("test://template/1/data/more"), None);
        let two = UriTemplate::parse("notes://{folder}/{name}.md").unwrap();
        assert_eq!(
            two.matches("notes://work/plan.md"),
            Some(vec![("folder".into(), "work".into()), ("name".into(), "plan".into())])
        );
        let tail = UriTemplate::parse("file:///logs/{name}").unwrap();
        assert_eq!(tail.matches("file:///logs/today"), Some(vec![("name".into(), "today".into())]));
        assert_eq!(tail.matches("file:///logs/a/b"), None);
    }

    #[test]
    fn templates_beyond_level_one_are_refused_with_why() {
        for (bad, why) in [
            ("test://{+path}", "not a simple variable"),
            ("test://x{?q}", "not a simple variable"),
            ("test://{a}{b}", "nothing between them"),
            ("test://{a}/{a}", "twice"),
            ("{scheme}://x", "must start with a scheme"),
            ("relative/{x}", "absolute URI's scheme"),
            ("test://{open", "unclosed"),
        ] {
            let error = UriTemplate::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}

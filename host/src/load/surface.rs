//! The one derivation of a component's tools, resources, resource templates
//! and prompts from its surface. `moat serve`
//! and `moat call` serve what it derives; `moat lock` pins it, `moat vet`,
//! `inspect`, `publish` and `add` read it: a lock can only ever disagree with
//! serving because the component changed, never because two pieces of code
//! made its definitions differently.
//!
//! Also reads a component file for the commands that are not serving
//! (compiled through the user's cache, on an engine without a pool).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use wasmtime::component::Component;

use crate::bounds::MAX_FUNCTIONS;
use crate::completion::CompletionDef;
use crate::component::{ComponentFile, Surface};
use crate::metadata::Serves;
use crate::prompts::PromptDef;
use crate::resources::{ResourceDef, TemplateDef};
use crate::runtime::Runtime;
use crate::runtime::cache::CompileCache;
use crate::schema::Conventions;
use crate::tools::{Naming, ToolDef, mcp_tool, undeclared};

/// An exported function that is not served as a tool, and why.
#[derive(Debug, Clone)]
pub struct NotATool {
    pub path: String,
    pub reason: String,
    /// Not declared by the WIT world the component was packed from (a
    /// toolchain's own export), rather than a function with no JSON form.
    pub undeclared: bool,
}

/// What a component offers: MCP tools, resources, templates and prompts.
#[derive(Debug, Clone, Default)]
pub struct ComponentTools {
    /// In name order, each with its function's place in the surface.
    pub tools: Vec<(ToolDef, usize)>,
    /// In URI order.
    pub resources: Vec<(ResourceDef, usize)>,
    /// In name order.
    pub templates: Vec<(TemplateDef, usize)>,
    /// In name order.
    pub prompts: Vec<(PromptDef, usize)>,
    /// Completion functions, each with the place of the prompt or template
    /// function it completes.
    pub completions: Vec<(CompletionDef, usize, usize)>,
    /// In the surface's order.
    pub not_tools: Vec<NotATool>,
}

impl ComponentTools {
    pub fn definitions(&self) -> impl Iterator<Item = &ToolDef> {
        self.tools.iter().map(|(def, _)| def)
    }

    /// Its resources, templates and prompts as the lock pins them: the MCP
    /// definition of each, keyed `prompt NAME`, `resource URI` and
    /// `resource-template TEMPLATE`.
    pub fn offers(&self) -> BTreeMap<String, Value> {
        let json = |value: Result<Value, serde_json::Error>| value.expect("MCP definitions serialise");
        let resources = self
            .resources
            .iter()
            .map(|(d, _)| (format!("resource {}", d.uri), json(serde_json::to_value(d.mcp()))));
        let templates = self.templates.iter().map(|(d, _)| {
            (format!("resource-template {}", d.template.text), json(serde_json::to_value(d.mcp())))
        });
        let prompts = self
            .prompts
            .iter()
            .map(|(d, _)| (format!("prompt {}", d.name), json(serde_json::to_value(d.mcp()))));
        resources.chain(templates).chain(prompts).collect()
    }

    /// Every definition vet reads: each tool's, and each resource's,
    /// template's and prompt's in a tool's shape (its name, title and
    /// description; a prompt's arguments, and a resource's URI, as described
    /// parameters), so that the same rules read every string a model sees.
    pub fn vetted(&self) -> Vec<Value> {
        let tools = self.definitions().map(|t| serde_json::to_value(mcp_tool(t)).expect("tools serialise"));
        let shaped = |name: &str, title: &Option<String>, description: &Option<String>, properties: Value| {
            let mut tool = json!({
                "name": name,
                "description": description.clone().unwrap_or_default(),
                "inputSchema": {"type": "object", "properties": properties},
            });
            if let Some(title) = title {
                tool["title"] = Value::String(title.clone());
            }
            tool
        };
        let uri = |uri: &str| json!({"uri": {"type": "string", "description": uri}});
        let resources =
            self.resources.iter().map(|(d, _)| shaped(&d.name, &d.title, &d.description, uri(&d.uri)));
        let templates = self
            .templates
            .iter()
            .map(|(d, _)| shaped(&d.name, &d.title, &d.description, uri(&d.template.text)));
        let prompts = self.prompts.iter().map(|(d, _)| {
            let properties: serde_json::Map<String, Value> = d
                .arguments
                .iter()
                .map(|a| {
                    (
                        a.name.clone(),
                        json!({"type": "string", "description": a.description.clone().unwrap_or_default()}),
                    )
                })
                .collect();
            shaped(&d.name, &d.title, &d.description, Value::Object(properties))
        });
        tools.chain(resources).chain(templates).chain(prompts).collect()
    }

    /// Every name it serves: tools', resources', templates' and prompts'.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let tools = self.tools.iter().map(|(d, _)| d.name.as_str());
        let resources = self.resources.iter().map(|(d, _)| d.name.as_str());
        let templates = self.templates.iter().map(|(d, _)| d.name.as_str());
        let prompts = self.prompts.iter().map(|(d, _)| d.name.as_str());
        tools.chain(resources).chain(templates).chain(prompts)
    }
}

/// The tools of `surface` named by `naming`. Refused (an error) when the
/// metadata documents a function the component does not export, when the
/// config names a function it does not export, when a name breaks MCP's rule,
/// or when two functions get one name.
pub fn component_tools(naming: &Naming, surface: &Surface) -> Result<ComponentTools> {
    let Surface { metadata, functions, .. } = surface;
    if functions.len() > MAX_FUNCTIONS {
        bail!(
            "it exports {} functions, past moat's bound of {MAX_FUNCTIONS} (MAX_FUNCTIONS)",
            functions.len()
        );
    }
    if let Some(metadata) = metadata
        && let Some(stray) =
            metadata.functions.keys().find(|path| !functions.iter().any(|f| &f.path == *path))
    {
        bail!(
            "its metadata documents `{stray}`, which it does not export (was it packed from another WIT world?)"
        );
    }
    if let Some(unknown) = naming.unknown_aliases(functions).next() {
        bail!(
            "[components.{}.names] names `{unknown}`, which the component does not export",
            naming.component
        );
    }
    let mut derived = ComponentTools::default();
    let mut taken = std::collections::HashSet::new();
    let mut completions = Vec::new();
    for (index, function) in functions.iter().enumerate() {
        if let Some(reason) = undeclared(metadata.as_ref(), function) {
            derived.not_tools.push(NotATool { path: function.path.clone(), reason, undeclared: true });
            continue;
        }
        let signature = match &function.signature {
            Ok(signature) => signature.clone(),
            Err(reason) => {
                let reason = reason.to_string();
                derived.not_tools.push(NotATool { path: function.path.clone(), reason, undeclared: false });
                continue;
            }
        };
        let docs = metadata.as_ref().and_then(|m| m.functions.get(&function.path));
        if let Some(Serves::Completion { of }) = docs.map(|d| &d.serves) {
            let def = CompletionDef::new(of, function, signature).map_err(anyhow::Error::msg)?;
            completions.push((def, index));
            continue;
        }
        let serves = docs.map(|d| &d.serves).unwrap_or(&Serves::Tool);
        // The world's `@json` and `@tool-names` spell tools; resources and
        // prompts keep WIT's names.
        let (conv, style) = match (serves, metadata) {
            (Serves::Tool, Some(metadata)) => (Conventions(metadata.json), metadata.tool_names),
            _ => (Conventions::WIT, None),
        };
        let name = naming.tool_name(function, style).map_err(anyhow::Error::msg)?;
        if !taken.insert(name.clone()) {
            bail!("name `{name}` is already taken");
        }
        match (serves, docs) {
            (Serves::Resource { .. }, Some(docs)) => {
                let def = ResourceDef::new(name, function, signature, docs).map_err(anyhow::Error::msg)?;
                if derived.resources.iter().any(|(other, _)| other.uri == def.uri) {
                    bail!("two functions are resource `{}`", def.uri);
                }
                derived.resources.push((def, index));
            }
            (Serves::ResourceTemplate { .. }, Some(docs)) => {
                let def = TemplateDef::new(name, function, signature, docs).map_err(anyhow::Error::msg)?;
                if derived.templates.iter().any(|(other, _)| other.template == def.template) {
                    bail!("two functions are resource template `{}`", def.template.text);
                }
                derived.templates.push((def, index));
            }
            (Serves::Prompt, Some(docs)) => {
                let argument_name = |param: &str| naming.argument_name(function, param);
                let def = PromptDef::new(name, function, signature, docs, argument_name)
                    .map_err(anyhow::Error::msg)?;
                derived.prompts.push((def, index));
            }
            _ => {
                let def = ToolDef::new(name, &naming.component, function, signature, docs, conv)
                    .map_err(|error| anyhow::anyhow!("`{}`: {error}", function.path))?;
                derived.tools.push((def, index))
            }
        }
    }
    for (def, index) in completions {
        let completed = |place: &usize| functions[*place].path == def.of;
        let target = derived
            .prompts
            .iter()
            .map(|(_, place)| place)
            .chain(derived.templates.iter().map(|(_, place)| place))
            .find(|place| completed(place));
        let Some(&target) = target else {
            bail!(
                "`{}` completes `{}`, which is not one of its prompts or resource templates",
                functions[index].path,
                def.of
            );
        };
        if derived.completions.iter().any(|(_, _, other)| *other == target) {
            bail!("`{}` has two completion functions", def.of);
        }
        derived.completions.push((def, index, target));
    }
    for (key, _) in naming.argument_aliases() {
        let renames_an_argument = derived.prompts.iter().any(|(def, index)| {
            def.arguments.iter().any(|a| *key == Naming::argument_key(&functions[*index].path, &a.param))
        });
        if !renames_an_argument {
            bail!(
                "[components.{}.names] renames `{key}`, which is not an argument of one of its prompts",
                naming.component
            );
        }
    }
    derived.tools.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
    derived.resources.sort_by(|(a, _), (b, _)| a.uri.cmp(&b.uri));
    derived.templates.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
    derived.prompts.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
    Ok(derived)
}

/// A component file as the commands other than serving read it.
pub struct ReadComponent {
    pub file: ComponentFile,
    pub surface: Surface,
    runtime: Runtime,
    component: Component,
}

impl ReadComponent {
    /// Why this host could not link it, if it could not (only `moat inspect`
    /// asks, so the others do not link).
    pub fn link_error(&self) -> Option<String> {
        self.runtime.pre_instantiate(&self.component).err().map(|e| format!("{e:#}"))
    }
}

/// The engine of the commands other than serving: no instance pool, the
/// user's compile cache.
pub fn command_runtime() -> Result<Runtime> {
    Runtime::new(None, CompileCache::default_dir().as_deref(), Default::default())
}

/// Reads and compiles the component at `path` and reads its surface.
pub fn read_component(path: &Path) -> Result<ReadComponent> {
    let file = ComponentFile::read(path)?;
    let runtime = command_runtime()?;
    let (component, _) = runtime
        .compile(file.digest_hex(), &file.bytes)
        .with_context(|| format!("{} is not a valid component", path.display()))?;
    let surface = Surface::of(runtime.engine(), &component, file.metadata.clone());
    Ok(ReadComponent { file, surface, runtime, component })
}

/// The component at `path` and its tools under `naming`, as serving would
/// derive them.
pub fn read_tools(path: &Path, naming: &Naming) -> Result<(ReadComponent, ComponentTools)> {
    let read = read_component(path)?;
    let tools = component_tools(naming, &read.surface)
        .with_context(|| format!("{} cannot be served as `{}`", path.display(), naming.component))?;
    Ok((read, tools))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::{ExportedFunction, Signature};

    fn function(i: usize) -> ExportedFunction {
        ExportedFunction {
            path: format!("f{i}"),
            interface: None,
            name: format!("f{i}"),
            signature: Ok(Signature { params: Vec::new(), result: None }),
            param_names: Vec::new(),
        }
    }

    #[test]
    fn a_component_past_the_function_bound_is_refused_naming_it() {
        let surface = |count: usize| Surface {
            metadata: None,
            functions: (0..count).map(function).collect(),
            imports: Vec::new(),
        };
        let served = component_tools(&Naming::new("c"), &surface(MAX_FUNCTIONS)).unwrap();
        assert_eq!(served.tools.len(), MAX_FUNCTIONS, "exactly the bound is served");
        let error = component_tools(&Naming::new("c"), &surface(MAX_FUNCTIONS + 1)).unwrap_err();
        assert!(
            format!("{error:#}")
                .contains("exports 1025 functions, past moat's bound of 1024 (MAX_FUNCTIONS)")
        );
    }
}

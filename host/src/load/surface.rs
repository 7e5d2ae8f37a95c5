//! The one derivation of a component's tools from its surface. `moat serve`
//! and `moat call` serve what it derives; `moat lock` pins it, `moat vet`,
//! `inspect`, `publish` and `add` read it: a lock can only ever disagree with
//! serving because the component changed, never because two pieces of code
//! made its definitions differently.
//!
//! Also reads a component file for the commands that are not serving
//! (compiled through the user's cache, on an engine without a pool).

use std::path::Path;

use anyhow::{Context, Result, bail};
use wasmtime::component::Component;

use crate::component::{ComponentFile, Surface};
use crate::runtime::Runtime;
use crate::runtime::cache::CompileCache;
use crate::tools::{Naming, ToolDef, undeclared};

/// An exported function that is not served as a tool, and why.
#[derive(Debug, Clone)]
pub struct NotATool {
    pub path: String,
    pub reason: String,
    /// Not declared by the WIT world the component was packed from (a
    /// toolchain's own export), rather than a function with no JSON form.
    pub undeclared: bool,
}

/// What a component offers as MCP tools.
#[derive(Debug, Clone, Default)]
pub struct ComponentTools {
    /// In name order, each with its function's place in the surface.
    pub tools: Vec<(ToolDef, usize)>,
    /// In the surface's order.
    pub not_tools: Vec<NotATool>,
}

impl ComponentTools {
    pub fn definitions(&self) -> impl Iterator<Item = &ToolDef> {
        self.tools.iter().map(|(def, _)| def)
    }
}

/// The tools of `surface` named by `naming`. Refused (an error) when the
/// metadata documents a function the component does not export, when the
/// config names a function it does not export, when a name breaks MCP's rule,
/// or when two functions get one name.
pub fn component_tools(naming: &Naming, surface: &Surface) -> Result<ComponentTools> {
    let Surface { metadata, functions, .. } = surface;
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
        let name = naming.tool_name(function).map_err(anyhow::Error::msg)?;
        if derived.tools.iter().any(|(def, _)| def.name == name) {
            bail!("tool name `{name}` is already taken");
        }
        let docs = metadata.as_ref().and_then(|m| m.functions.get(&function.path));
        derived.tools.push((ToolDef::new(name, &naming.component, function, signature, docs), index));
    }
    derived.tools.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
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

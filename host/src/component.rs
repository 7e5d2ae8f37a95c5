//! What a component file is: its bytes and digest, its embedded metadata, the
//! functions it exports (with their typed signatures) and what it imports.
//!
//! Reads types either from the compiled component ([`Surface::of`]) or from
//! the bytes, as the component's WIT, without compiling ([`decode`]); both
//! give the same surface, and a component listed from its bytes is checked
//! against its compiled form when it is linked. Runs no guest code.
//! Functions whose types have no JSON form are listed with the reason
//! instead of a signature.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, ComponentExportIndex};

use wit_parser::{Resolve, WorldItem};

use crate::bounds::MAX_TYPE_NESTING;
use crate::metadata::{self, ToolMetadata};
use crate::types::{UnsupportedType, ValType};

/// A component read from disk, not yet compiled.
#[derive(Debug, Clone)]
pub struct ComponentFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of the bytes, metadata section included.
    pub digest: String,
    pub metadata: Option<ToolMetadata>,
}

impl ComponentFile {
    pub fn read(path: &Path) -> Result<ComponentFile> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read component {}", path.display()))?;
        Self::from_bytes(path, bytes)
    }

    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<ComponentFile> {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let metadata = metadata::read(&bytes)
            .with_context(|| format!("cannot read the metadata of {}", path.display()))?;
        Ok(ComponentFile { path: path.to_path_buf(), bytes, digest, metadata })
    }

    /// The hex part of the digest, for file names.
    pub fn digest_hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// A function's typed signature, when every type in it maps to JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub params: Vec<(String, ValType)>,
    pub result: Option<ValType>,
}

/// One exported function of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFunction {
    /// Key of this function in the metadata: `func` or `interface#func`.
    pub path: String,
    /// The exported interface it belongs to, if any (e.g. `moat:text/tools@0.1.0`).
    pub interface: Option<String>,
    pub name: String,
    /// The signature, or why this function cannot be a tool.
    pub signature: Result<Signature, UnsupportedType>,
    /// Parameter names as declared, whatever their types.
    pub param_names: Vec<String>,
}

impl ExportedFunction {
    /// Function `name`, of `interface` if it is in one.
    fn new(
        interface: Option<&str>,
        name: &str,
        signature: Result<Signature, UnsupportedType>,
        param_names: Vec<String>,
    ) -> ExportedFunction {
        ExportedFunction {
            path: match interface {
                Some(interface) => format!("{interface}#{name}"),
                None => name.to_string(),
            },
            interface: interface.map(str::to_string),
            name: name.to_string(),
            signature,
            param_names,
        }
    }
}

/// What a component offers and needs, read from its compiled form or its
/// bytes: the same for every component with the same digest, so it is cached by digest
/// and a restart can list tools before it links anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Surface {
    /// Read from the bytes, like the rest.
    pub metadata: Option<ToolMetadata>,
    pub functions: Vec<ExportedFunction>,
    pub imports: Vec<String>,
}

impl Surface {
    pub fn of(engine: &Engine, component: &Component, metadata: Option<ToolMetadata>) -> Surface {
        Surface {
            metadata,
            functions: exported_functions(engine, component),
            imports: imports(engine, component),
        }
    }
}

/// What the component in `bytes` offers and needs, read from its WIT as
/// wit-parser decodes it (types and exports; function bodies are neither
/// compiled nor validated here): the surface [`Surface::of`] reads from the
/// compiled form, without the seconds a large component takes to compile.
pub fn decode(bytes: &[u8], metadata: Option<ToolMetadata>) -> Result<Surface> {
    // Every section and function body must fit in the bytes before
    // wit-parser reads them: its reader sets aside the size a section
    // claims, so 62 bytes claiming a body of 800 MB would take 800 MB.
    let imports = import_names(bytes)?;
    // wit-parser is not moat's code: a panic on hostile bytes is an error
    // for this component, not the end of the host.
    let decoded = std::panic::catch_unwind(|| wit_parser::decoding::decode(bytes))
        .map_err(|_| anyhow::anyhow!("its component types could not be read (the decoder panicked)"))?
        .context("its component types could not be read")?;
    let wit_parser::decoding::DecodedWasm::Component(resolve, world) = decoded else {
        anyhow::bail!("it is a WIT package, not a component");
    };
    let world = &resolve.worlds[world];
    let mut functions = Vec::new();
    for (key, item) in &world.exports {
        match item {
            WorldItem::Function(func) => functions.push(decoded_function(&resolve, None, func)),
            WorldItem::Interface { id, .. } => {
                let name = resolve.name_world_key(key);
                if name.starts_with("wasi:") {
                    continue;
                }
                for func in resolve.interfaces[*id].functions.values() {
                    functions.push(decoded_function(&resolve, Some(&name), func));
                }
            }
            WorldItem::Type { .. } => {}
        }
    }
    Ok(Surface { metadata, functions, imports })
}

fn decoded_function(
    resolve: &Resolve,
    interface: Option<&str>,
    func: &wit_parser::Function,
) -> ExportedFunction {
    let name = func.name.as_str();
    let signature = if is_resource_function(name) {
        Err(UnsupportedType("a resource's constructor or method is not a tool".into()))
    } else if func.kind.is_async() {
        Err(UnsupportedType("async functions are not supported yet".into()))
    } else {
        decoded_signature(resolve, func)
    };
    let param_names = func.params.iter().map(|p| p.name.clone()).collect();
    ExportedFunction::new(interface, name, signature, param_names)
}

fn decoded_signature(resolve: &Resolve, func: &wit_parser::Function) -> Result<Signature, UnsupportedType> {
    let params = func
        .params
        .iter()
        .map(|param| {
            ValType::from_wit(resolve, &param.ty)
                .and_then(within_nesting)
                .map(|ty| (param.name.clone(), ty))
                .map_err(|e| UnsupportedType(format!("parameter `{}`: {e}", param.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let result = func
        .result
        .as_ref()
        .map(|ty| {
            ValType::from_wit(resolve, ty)
                .and_then(within_nesting)
                .map_err(|e| UnsupportedType(format!("result: {e}")))
        })
        .transpose()?;
    Ok(Signature { params, result })
}

/// The names of what the component imports to be linked (not its type
/// imports), in order, from its own import section (nested modules' and
/// components' imports are theirs). Reads every section and function body's
/// bounds on the way, so a size that does not fit is an error here.
fn import_names(bytes: &[u8]) -> Result<Vec<String>> {
    Ok(world_names(bytes)?.imports)
}

/// The names a component's world imports and exports, as WIT spells them
/// (`wasi:cli/environment@0.2.6`, `word-count`); type imports and exports,
/// names for types rather than things linked, are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorldNames {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Reads [`WorldNames`] from the component's own top-level sections.
pub fn world_names(bytes: &[u8]) -> Result<WorldNames> {
    let mut names = WorldNames::default();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.context("its component types could not be read")? {
            wasmparser::Payload::ModuleSection { .. } | wasmparser::Payload::ComponentSection { .. } => {
                depth += 1
            }
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(imports) if depth == 0 => {
                for import in imports {
                    let import = import.context("its import section could not be read")?;
                    if !matches!(import.ty, wasmparser::ComponentTypeRef::Type(_)) {
                        names.imports.push(import.name.name.to_string());
                    }
                }
            }
            wasmparser::Payload::ComponentExportSection(exports) if depth == 0 => {
                for export in exports {
                    let export = export.context("its export section could not be read")?;
                    if export.kind != wasmparser::ComponentExternalKind::Type {
                        names.exports.push(export.name.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// Lists the exported functions of `component`, world-level ones and those of
/// exported interfaces. Interfaces in the `wasi:` namespace (e.g. `wasi:cli/run`)
/// are the plumbing of a command, not tools, and are skipped.
pub fn exported_functions(engine: &Engine, component: &Component) -> Vec<ExportedFunction> {
    let mut out = Vec::new();
    let ty = component.component_type();
    for (name, item) in ty.exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(func) => out.push(exported(None, name, &func)),
            ComponentItem::ComponentInstance(instance) if !name.starts_with("wasi:") => {
                for (func_name, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(func) = item.ty {
                        out.push(exported(Some(name), func_name, &func));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Where `function` is in `component`, for calling it; `None` when the
/// component does not export it.
pub fn export_index(component: &Component, function: &ExportedFunction) -> Option<ComponentExportIndex> {
    let instance = match &function.interface {
        Some(interface) => Some(component.get_export_index(None, interface)?),
        None => None,
    };
    component.get_export_index(instance.as_ref(), &function.name)
}

fn exported(interface: Option<&str>, name: &str, func: &ComponentFunc) -> ExportedFunction {
    let param_names = func.params().map(|(n, _)| n.to_string()).collect();
    ExportedFunction::new(interface, name, signature(name, func), param_names)
}

/// Whether an export name is a resource's constructor, method or static
/// function (`[constructor]counter`, `[method]counter.get`, ...).
pub fn is_resource_function(name: &str) -> bool {
    name.starts_with('[')
}

fn signature(name: &str, func: &ComponentFunc) -> Result<Signature, UnsupportedType> {
    if is_resource_function(name) {
        return Err(UnsupportedType("a resource's constructor or method is not a tool".into()));
    }
    if func.async_() {
        return Err(UnsupportedType("async functions are not supported yet".into()));
    }
    let params = func
        .params()
        .map(|(name, ty)| {
            ValType::from_wasmtime(&ty)
                .and_then(within_nesting)
                .map(|ty| (name.to_string(), ty))
                .map_err(|e| UnsupportedType(format!("parameter `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut results = func.results();
    let result = results
        .next()
        .map(|ty| {
            ValType::from_wasmtime(&ty)
                .and_then(within_nesting)
                .map_err(|e| UnsupportedType(format!("result: {e}")))
        })
        .transpose()?;
    Ok(Signature { params, result })
}

/// `ty`, unless it nests deeper than [`MAX_TYPE_NESTING`].
fn within_nesting(ty: ValType) -> Result<ValType, UnsupportedType> {
    let nesting = ty.nesting();
    if nesting > MAX_TYPE_NESTING {
        return Err(UnsupportedType(format!(
            "its types nest {nesting} deep, past moat's bound of {MAX_TYPE_NESTING} (MAX_TYPE_NESTING)"
        )));
    }
    Ok(ty)
}

/// The names of everything `component` imports (interfaces like
/// `wasi:filesystem/types@0.2.6`, or bare functions), in order.
pub fn imports(engine: &Engine, component: &Component) -> Vec<String> {
    component.component_type().imports(engine).map(|(name, _)| name.to_string()).collect()
}

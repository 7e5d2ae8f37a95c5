//! `moat pack`: binds the WIT documentation of a component's tools to its bytes.
//!
//! Reads the WIT source the component was built from, turns each exported
//! function's doc comment into [`FunctionDocs`] (conventions in `wit/README.md`),
//! checks that the WIT world and the compiled component export the same functions
//! with the same parameters, and writes the `moat-metadata` section. After this,
//! the component's digest (and any signature over it) covers what the model reads.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use wit_parser::{FunctionKind, Resolve, WorldItem};

use crate::component::ExportedFunction;
use crate::metadata::{self, FORMAT_VERSION, FunctionDocs, ToolMetadata};

/// The documentation of one function read from WIT, with its parameter names.
struct WitFunction {
    docs: FunctionDocs,
    params: Vec<String>,
}

/// Reads the metadata for `world` (or the package's only world) from WIT at `wit`
/// (a file or a directory), refusing malformed doc tags and `@param`s that name
/// no parameter.
pub fn metadata_from_wit(
    wit: &Path,
    world: Option<&str>,
) -> Result<(ToolMetadata, BTreeMap<String, Vec<String>>)> {
    let mut resolve = Resolve::new();
    let (package, _) = parsed(|| resolve.push_path(wit))
        .with_context(|| format!("cannot read WIT from {}", wit.display()))?;
    metadata_of(&resolve, package, world)
}

/// [`metadata_from_wit`] of one WIT file's text.
pub fn metadata_from_wit_source(
    source: &str,
    world: Option<&str>,
) -> Result<(ToolMetadata, BTreeMap<String, Vec<String>>)> {
    let mut resolve = Resolve::new();
    let package = parsed(|| resolve.push_str("world.wit", source)).context("cannot read the WIT")?;
    metadata_of(&resolve, package, world)
}

/// A core module built for WASI preview 1 (Go's `GOOS=wasip1`, TinyGo's
/// `wasip1`) made a component of the WIT world at `wit`: the world's types
/// embedded, as `wasm-tools component embed` does, then WASI preview 1
/// adapted to 0.2 with the reactor adapter of the wasmtime moat runs (from
/// its crate, `wasi-preview1-component-adapter-provider`), as `wasm-tools
/// component new --adapt` does, with wit-component, the library both use.
pub fn componentize(module: &[u8], wit: &Path, world: Option<&str>) -> Result<Vec<u8>> {
    let mut resolve = Resolve::new();
    let (package, _) = parsed(|| resolve.push_path(wit))
        .with_context(|| format!("cannot read WIT from {}", wit.display()))?;
    let world = resolve.select_world(&[package], world).context("cannot choose the world")?;
    let mut module = module.to_vec();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .context("cannot embed the world's types into the module")?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .context("the module does not fit the WIT world")?
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .context("the WASI preview 1 adapter")?
        .encode()
        .context("cannot make a component of the module")
}

/// wit-parser's answer, or an error where it panics instead of answering
/// (0.254 does on an empty block doc comment, `/**/`).
fn parsed<T>(parse: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        bail!(
            "wit-parser failed on this WIT instead of reporting an error ({why}); look for an unusual comment"
        )
    })
}

fn metadata_of(
    resolve: &Resolve,
    package: wit_parser::PackageId,
    world: Option<&str>,
) -> Result<(ToolMetadata, BTreeMap<String, Vec<String>>)> {
    let world_id = resolve.select_world(&[package], world).context("cannot choose the WIT world")?;
    let world = &resolve.worlds[world_id];
    let world_name = match world.package {
        Some(package) => format!("{}/{}", resolve.packages[package].name, world.name),
        None => world.name.clone(),
    };
    let mut functions = BTreeMap::new();
    for (key, item) in &world.exports {
        match item {
            WorldItem::Function(function) => {
                functions.insert(function.name.clone(), wit_function(function)?);
            }
            WorldItem::Interface { id, .. } => {
                let interface_name = resolve.name_world_key(key);
                if interface_name.starts_with("wasi:") {
                    continue;
                }
                for (name, function) in &resolve.interfaces[*id].functions {
                    if matches!(function.kind, FunctionKind::Freestanding | FunctionKind::AsyncFreestanding) {
                        functions.insert(format!("{interface_name}#{name}"), wit_function(function)?);
                    }
                }
            }
            WorldItem::Type { .. } => {}
        }
    }
    let params = functions.iter().map(|(path, f)| (path.clone(), f.params.clone())).collect();
    let world_docs = metadata::parse_world_doc_comment(world.docs.contents.as_deref().unwrap_or(""))
        .with_context(|| format!("in the doc comment of world `{world_name}`"))?;
    let metadata = ToolMetadata {
        version: FORMAT_VERSION,
        world: world_name,
        functions: functions.into_iter().map(|(path, f)| (path, f.docs)).collect(),
        json: world_docs.json,
        tool_names: world_docs.tool_names,
    };
    Ok((metadata, params))
}

fn wit_function(function: &wit_parser::Function) -> Result<WitFunction> {
    let docs = metadata::parse_doc_comment(function.docs.contents.as_deref().unwrap_or(""))
        .with_context(|| format!("in the doc comment of `{}`", function.name))?;
    let params: Vec<String> = function.params.iter().map(|p| p.name.clone()).collect();
    if let Some(stray) = docs.params.keys().find(|name| !params.contains(name)) {
        bail!("the doc comment of `{}` documents parameter `{stray}`, which it does not have", function.name);
    }
    Ok(WitFunction { docs, params })
}

/// Checks that the component exports every function of the WIT world, with
/// the same parameters. Returns the exported functions the world does not
/// declare: a language toolchain's own exports (componentize-py adds
/// `exports#init`), which are then not served as tools.
pub fn check_matches(
    wit_params: &BTreeMap<String, Vec<String>>,
    exported: &[ExportedFunction],
) -> Result<Vec<String>> {
    let mut undeclared = Vec::new();
    for function in exported.iter().filter(|f| !crate::component::is_resource_function(&f.name)) {
        match wit_params.get(&function.path) {
            None => undeclared.push(function.path.clone()),
            Some(params) if *params != function.param_names => bail!(
                "`{}` takes ({}) in the component but ({}) in the WIT world",
                function.path,
                function.param_names.join(", "),
                params.join(", ")
            ),
            Some(_) => {}
        }
    }
    if let Some(missing) = wit_params.keys().find(|path| !exported.iter().any(|f| &f.path == *path)) {
        bail!("the WIT world declares `{missing}`, which the component does not export");
    }
    Ok(undeclared)
}

/// Functions whose doc comment is empty: they will be served with a generated description.
pub fn undocumented(metadata: &ToolMetadata) -> Vec<&str> {
    metadata
        .functions
        .iter()
        .filter(|(_, docs)| docs.description.is_empty())
        .map(|(path, _)| path.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_come_from_world_and_interface_exports() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("world.wit"),
            r#"
            package demo:tools@0.1.0;

            interface text {
                /// Upper-cases text.
                /// @param input the text
                /// @read-only
                upper: func(input: string) -> string;
            }

            world demo {
                export text;
                /// Adds two numbers.
                /// @param a the first
                export add: func(a: s32, b: s32) -> s32;
            }
            "#,
        )
        .unwrap();
        let (metadata, params) = metadata_from_wit(dir.path(), None).unwrap();
        assert_eq!(metadata.world, "demo:tools@0.1.0/demo");
        assert_eq!(metadata.functions["add"].description, "Adds two numbers.");
        assert_eq!(metadata.functions["add"].params["a"], "the first");
        let upper = &metadata.functions["demo:tools/text@0.1.0#upper"];
        assert_eq!(upper.hints.read_only, Some(true));
        assert_eq!(params["add"], ["a", "b"]);
    }

    /// The reference world in `wit/` follows its own conventions.
    #[test]
    fn the_reference_world_in_wit_packs() {
        let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let (metadata, params) = metadata_from_wit(&wit, None).unwrap();
        let distance = &metadata.functions["distance"];
        assert_eq!(distance.title.as_deref(), Some("Distance between cities"));
        assert_eq!(distance.params["from"], "the city to start from");
        assert_eq!(distance.hints.read_only, Some(true));
        assert_eq!(params["distance"], ["from", "to", "unit"]);
    }

    #[test]
    fn a_wit_the_parser_panics_on_is_an_error() {
        let error = metadata_from_wit_source(
            "package demo:tools@0.1.0;\nworld w {\n    /**/// Greets.\n    export greet: func() -> string;\n}\n",
            None,
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("wit-parser failed on this WIT"), "{error:#}");
    }

    #[test]
    fn a_param_doc_for_a_missing_param_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("world.wit"),
            "package demo:x;\nworld w {\n  /// Adds.\n  /// @param c nothing\n  export add: func(a: s32) -> s32;\n}\n",
        )
        .unwrap();
        let error = format!("{:#}", metadata_from_wit(dir.path(), None).unwrap_err());
        assert!(error.contains("documents parameter `c`"), "{error}");
    }
}

//! `moat pack`: the WIT world's doc comments written into the component's
//! `moat-metadata` section, after checking the component exports that world;
//! a WASI preview 1 core module is made a component of the world first.

use std::path::Path;

use anyhow::{Context, Result};

use crate::component::ComponentFile;
use crate::load::surface::read_component;
use crate::{metadata, pack};

pub(super) fn pack(component_path: &Path, wit: &Path, world: Option<&str>, output: &Path) -> Result<()> {
    let (metadata, params) = pack::metadata_from_wit(wit, world)?;
    // A core module (a wasip1 toolchain's output) becomes a component first.
    let bytes =
        std::fs::read(component_path).with_context(|| format!("cannot read {}", component_path.display()))?;
    // The output gets the input's permissions.
    let permissions = std::fs::metadata(component_path)?.permissions();
    let component_path = if wasmparser::Parser::is_core_wasm(&bytes) {
        let component = pack::componentize(&bytes, wit, world)
            .with_context(|| format!("{} is a core module", component_path.display()))?;
        crate::store::write_atomically(output, &component)?;
        tracing::info!(module = %component_path.display(), "a core module: made a component with the WASI preview 1 adapter");
        output
    } else {
        component_path
    };
    let read = read_component(component_path)?;
    let (file, exported) = (read.file, read.surface.functions);
    let undeclared = pack::check_matches(&params, &exported)
        .with_context(|| format!("{} was not built from this WIT world", component_path.display()))?;
    for path in undeclared {
        tracing::info!(
            function = path,
            "exported but not declared by the WIT world (a toolchain's own export): not served as a tool"
        );
    }
    for path in pack::undocumented(&metadata) {
        tracing::warn!(
            function = path,
            "no doc comment: the tool will be served with a generated description"
        );
    }
    let packed = metadata::embed(&file.bytes, &metadata)?;
    crate::store::write_atomically_as(output, &packed, permissions)?;
    let packed_file = ComponentFile::from_bytes(output, packed)?;
    eprintln!(
        "packed {} ({} functions documented, world {}) → {}\ndigest {}",
        component_path.display(),
        metadata.functions.len(),
        metadata.world,
        output.display(),
        packed_file.digest
    );
    super::output::result(&serde_json::json!({
        "component": component_path, "packed": output, "digest": packed_file.digest.to_string(),
        "functions_documented": metadata.functions.len(), "world": metadata.world,
    }));
    Ok(())
}

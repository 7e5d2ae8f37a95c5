//! `moat pack`: the WIT world's doc comments written into the component's
//! `moat-metadata` section, after checking the component exports that world.

use std::path::Path;

use anyhow::{Context, Result};

use crate::component::ComponentFile;
use crate::load::surface::read_component;
use crate::{metadata, pack};

pub(super) fn pack(component_path: &Path, wit: &Path, world: Option<&str>, output: &Path) -> Result<()> {
    let (metadata, params) = pack::metadata_from_wit(wit, world)?;
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
    // With the permissions of the input.
    let permissions = std::fs::metadata(component_path)?.permissions();
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

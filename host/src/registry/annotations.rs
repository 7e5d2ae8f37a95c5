//! What a published component says of itself in the registry: the
//! `org.opencontainers.image.*` annotations of its manifest, from the
//! metadata sections the component carries (name, description, authors,
//! licences, source, homepage, revision, version, as `wasm-tools metadata
//! add` and the language toolchains write them), read with wasm-metadata.

use std::collections::BTreeMap;

/// The manifest's annotations for `component`: `created` always, the rest
/// from its top-level metadata when it has them.
pub fn of_component(component: &[u8]) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        annotations.insert(format!("org.opencontainers.image.{key}"), value);
    };
    put("created", humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string());
    let metadata = match wasm_metadata::Payload::from_binary(component) {
        Ok(wasm_metadata::Payload::Component { metadata, .. } | wasm_metadata::Payload::Module(metadata)) => {
            metadata
        }
        Err(error) => {
            tracing::debug!(error = %error, "no metadata read from the component");
            return annotations;
        }
    };
    if let Some(name) = metadata.name {
        put("title", name);
    }
    let text = [
        ("description", metadata.description.map(|v| v.to_string())),
        ("authors", metadata.authors.map(|v| v.to_string())),
        ("licenses", metadata.licenses.map(|v| v.to_string())),
        ("source", metadata.source.map(|v| v.to_string())),
        ("url", metadata.homepage.map(|v| v.to_string())),
        ("revision", metadata.revision.map(|v| v.to_string())),
        ("version", metadata.version.map(|v| v.to_string())),
    ];
    for (key, value) in text {
        if let Some(value) = value {
            put(key, value);
        }
    }
    annotations
}

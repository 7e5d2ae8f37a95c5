//! The official MCP Registry's `server.json` (schema 2025-12-11) for a
//! component `moat publish` pushed, so registry-aware clients and
//! aggregators can find it.
//!
//! What the registry can express for a wasm component, and what it cannot:
//! its packages are things a client runs (`npm`, `pypi`, `nuget`, `mcpb`,
//! and `oci` images run by a container runtime). A Wasm OCI artifact is an
//! `oci` package by registry type and reference, but no client can run it by
//! itself: it needs moat, so the package says `runtimeHint: "moat"` and its
//! arguments are moat's (`serve oci://…@sha256:… --trusted-key FILE`). The
//! digest, the signature tag and the tools are carried under `_meta`'s
//! publisher-provided key, since the schema has no field for them. A moat
//! serving the component over HTTP is a `remotes` entry the schema does
//! express, with its bearer token as a secret header.

use serde_json::{Value, json};

/// The schema this file follows.
pub const SCHEMA: &str = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/// The longest description the schema takes.
pub const MAX_DESCRIPTION: usize = 100;

/// What a server.json says of one published component.
pub struct Listing<'a> {
    /// The registry name, reverse-DNS: `io.github.USER/NAME`.
    pub name: &'a str,
    /// `HOST/REPO:TAG` as pushed, and the manifest digest it resolved to.
    pub image: &'a str,
    pub pinned: &'a str,
    pub version: &'a str,
    pub description: Option<&'a str>,
    pub tools: &'a [String],
    pub signature_tag: &'a str,
    /// A moat serving the component over Streamable HTTP, if there is one.
    pub remote: Option<&'a str>,
}

/// Checks `name` as the schema does: one slash between a reverse-DNS
/// namespace and a server name, 3 to 200 characters of `[a-zA-Z0-9.-]` and
/// `[a-zA-Z0-9._-]`.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = (3..=200).contains(&name.len())
        && name.split_once('/').is_some_and(|(namespace, server)| {
            !namespace.is_empty()
                && !server.is_empty()
                && namespace.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                && server.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    anyhow::ensure!(
        valid,
        "--server-name {name:?}: expected a reverse-DNS name with one slash, such as io.github.you/text-tools"
    );
    Ok(())
}

/// The document.
pub fn server_json(listing: &Listing<'_>) -> Value {
    let description =
        listing.description.map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned).unwrap_or_else(
            || format!("{} MCP tools, sandboxed WebAssembly served by moat", listing.tools.len()),
        );
    let description = shorten(&description, MAX_DESCRIPTION);
    let mut document = json!({
        "$schema": SCHEMA,
        "name": listing.name,
        "description": description,
        "version": listing.version,
        "packages": [{
            "registryType": "oci",
            "identifier": listing.image,
            "runtimeHint": "moat",
            "transport": {"type": "stdio"},
            "packageArguments": [
                {"type": "positional", "value": "serve"},
                {"type": "positional", "value": format!("oci://{}", listing.pinned)},
                {
                    "type": "named", "name": "--trusted-key", "isRequired": true, "format": "filepath",
                    "description": "The publisher's public key (PEM) the component's signature is verified with",
                },
            ],
        }],
        "_meta": {
            "io.modelcontextprotocol.registry/publisher-provided": {
                "moat": {
                    "component": format!("oci://{}", listing.pinned),
                    "signature": listing.signature_tag,
                    "tools": listing.tools,
                },
            },
        },
    });
    if let Some(url) = listing.remote {
        document["remotes"] = json!([{
            "type": "streamable-http",
            "url": url,
            "headers": [{
                "name": "Authorization", "isRequired": true, "isSecret": true,
                "description": "Bearer token from `moat token` (value: Bearer TOKEN)",
            }],
        }]);
    }
    document
}

/// `text` cut to at most `limit` characters, at a word, with an ellipsis.
fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_as_the_schema_checks_them() {
        for good in ["io.github.you/text-tools", "com.example/a_b.c"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["text-tools", "io.github.you/a/b", "/x", "io github/x", "io.github.you/"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_long_description_is_cut_at_a_word_within_the_limit() {
        let long = "word ".repeat(40);
        let short = shorten(&long, MAX_DESCRIPTION);
        assert!(short.chars().count() <= MAX_DESCRIPTION);
        assert!(short.ends_with("word…"), "{short}");
    }
}

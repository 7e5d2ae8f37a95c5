//! Package names as wkg names them (`namespace:name@version`), for `moat
//! add`: resolved to an OCI reference the way wkg resolves them, through
//! wkg's own config (`~/.config/wasm-pkg/config.toml`: `[namespace_registries]`,
//! `[package_registry_overrides]`, a mapping's OCI `registry` and
//! `namespacePrefix`), read with wasm-pkg-common, the crate wkg reads it with.
//! The reference is `REGISTRY/PREFIX NAMESPACE/NAME:VERSION`.
//!
//! moat speaks OCI only: a namespace wkg maps to another protocol (warg's
//! wa.dev, say) is refused. A registry mapped with no metadata is taken to be
//! an OCI registry with no prefix; wkg would first ask it for its well-known
//! metadata, which moat does not.

use anyhow::{Context, Result, bail};
use wasm_pkg_common::config::{Config, RegistryMapping};
use wasm_pkg_common::package::PackageRef;

/// The `oci://` reference for `text` when it is a package name with a
/// version; `None` when it is something else (an `oci://` reference).
pub async fn resolve(text: &str) -> Result<Option<String>> {
    if text.contains("://") {
        return Ok(None);
    }
    let Some((package, version)) = text.split_once('@') else {
        bail!(
            "{text}: expected oci://HOST/REPOSITORY:TAG, or a package name with its version (namespace:name@1.0.0)"
        )
    };
    let package: PackageRef = package.parse().with_context(|| format!("{text}: not a package name"))?;
    let version: semver::Version =
        version.parse().with_context(|| format!("{text}: `{version}` is not an exact version"))?;
    let config = Config::global_defaults().await.context("cannot read wkg's config")?;
    let where_ = || {
        Config::global_config_path().map(|p| p.display().to_string()).unwrap_or_else(|| "wkg's config".into())
    };
    let mapping = config
        .package_registry_override(&package)
        .or_else(|| config.namespace_registry(package.namespace()))
        .with_context(|| {
            format!(
                "{text}: {} maps namespace `{}` to no registry; add `[namespace_registries] {} = \"HOST\"` (or `wkg config`)",
                where_(),
                package.namespace(),
                package.namespace()
            )
        })?;
    let (host, prefix) = match mapping {
        RegistryMapping::Registry(registry) => (registry.to_string(), String::new()),
        RegistryMapping::Custom(custom) => {
            let host = custom.registry.to_string();
            if let Some(protocol) = custom.metadata.preferred_protocol()
                && protocol != "oci"
            {
                bail!(
                    "{text}: {} maps `{host}` to a {protocol} registry; moat reads packages over OCI only",
                    where_()
                );
            }
            let oci: Option<serde_json::Value> = custom
                .metadata
                .protocol_config("oci")
                .with_context(|| format!("{text}: the OCI settings of `{host}` in {}", where_()))?;
            let text_of =
                |key: &str| oci.as_ref().and_then(|o| o.get(key)).and_then(|v| v.as_str()).map(str::to_owned);
            (text_of("registry").unwrap_or(host), text_of("namespacePrefix").unwrap_or_default())
        }
    };
    let reference = format!("oci://{host}/{prefix}{}/{}:{version}", package.namespace(), package.name());
    tracing::info!(package = text, reference, "resolved through wkg's config");
    Ok(Some(reference))
}

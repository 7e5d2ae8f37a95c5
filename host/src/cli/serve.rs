//! `moat serve`: the config with the command line's trust gates, the load
//! pipeline, then MCP over stdio or Streamable HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rmcp::ServiceExt;

use super::args::ServeTrust;
use crate::config::Config;
use crate::mcp::handler::McpServer;

/// The config to serve (or call) with: the file, the components named on the
/// command line, and the trust gates of the command line and the lock file.
pub(super) fn gated_config(
    config_path: Option<&Path>,
    cache_dir: Option<PathBuf>,
    paths: &[PathBuf],
    trust: &ServeTrust,
) -> Result<Config> {
    let mut config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config.add_paths(paths)?;
    for key in &trust.trusted_keys {
        config.gates.trusted_keys.push(crate::signing::TrustedKey::read(key)?);
    }
    if trust.require_signature {
        if config.gates.trusted_keys.is_empty() {
            bail!("--require-signature needs a trusted key (--trusted-key FILE or [trust] keys)");
        }
        config.gates.require_signature = true;
    }
    if let Some(audit) = &trust.audit {
        config.audit_path = Some(audit.clone());
    }
    let lock_path = trust.lock.clone().or_else(|| config_path.map(crate::lock::path_for_config));
    config.gates.lock = match &lock_path {
        Some(path) => crate::lock::LockFile::read(path)?,
        None => None,
    };
    match (&config.gates.lock, &lock_path) {
        (Some(_), Some(path)) => {
            tracing::info!(lock = %path.display(), "components are checked against the lock")
        }
        (None, _) if trust.locked => {
            bail!(
                "--locked: no lock file{}; create one with `moat lock`",
                lock_path.map(|p| format!(" at {}", p.display())).unwrap_or_default()
            )
        }
        _ => tracing::warn!("no moat.lock: components are not pinned (create one with `moat lock`)"),
    }
    if let Some(dir) = cache_dir {
        config.cache_dir = Some(dir);
    }
    if config.components.is_empty() {
        bail!("nothing to serve: name components in a config file (--config) or on the command line");
    }
    Ok(config)
}

pub(super) async fn serve(
    config_path: Option<&Path>,
    cache_dir: Option<PathBuf>,
    paths: &[PathBuf],
    http: Option<&str>,
    trust: &ServeTrust,
) -> Result<()> {
    let config = gated_config(config_path, cache_dir, paths, trust)?;
    let (host, report) = crate::load::load(&config)?;
    if host.components().is_empty() {
        bail!("no component could be loaded ({} refused; see the errors above)", report.refused.len());
    }
    tracing::info!(
        components = host.components().len(),
        tools = host.tools().count(),
        refused = report.refused.len(),
        compiled = report.compiled.len(),
        transport = if http.is_some() { "http" } else { "stdio" },
        "components ready"
    );
    if let Some(address) = http {
        let mut options = config.http.clone();
        if !address.is_empty() {
            options.bind = address.parse().with_context(|| format!("--http {address}: expected IP:PORT"))?;
        }
        return crate::mcp::http::serve(Arc::new(host), options).await;
    }
    tracing::info!("serving MCP on stdio");
    let server = McpServer::new(Arc::new(host));
    let service =
        server.serve(crate::mcp::stdio::Stdio::new()).await.context("MCP session failed to start")?;
    let reason = service.waiting().await.context("MCP session ended abnormally")?;
    tracing::info!(?reason, "MCP session closed");
    Ok(())
}

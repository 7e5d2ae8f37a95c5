//! `moat serve`: the config with the command line's trust gates, the load
//! pipeline, then MCP over stdio or Streamable HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rmcp::ServiceExt;

use super::args::ServeTrust;
use crate::config::Config;
use crate::mcp::handler::McpServer;
use crate::served::Host;

/// The config to serve (or call) with: the file, the components named on the
/// command line, and the trust gates of the command line and the lock file.
pub(super) async fn gated_config(
    config_path: Option<&Path>,
    cache_dir: Option<PathBuf>,
    paths: &[PathBuf],
    trust: &ServeTrust,
) -> Result<Config> {
    let mut config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let (references, paths): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|path| path.to_str().is_some_and(|p| p.starts_with("oci://")));
    config.add_paths(&paths.into_iter().cloned().collect::<Vec<_>>())?;
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
    for reference in references {
        let reference = reference.to_str().expect("checked above");
        let (name, path, pinned) = super::publish::pull_pinned(reference, &config).await?;
        config.add_pulled(name, path, pinned)?;
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
    let discovered = match (config_path, paths.is_empty()) {
        (None, true) => Some(crate::config::named_or_discovered(None)?),
        _ => None,
    };
    let config_path = config_path.or(discovered.as_deref());
    if let Some(path) = config_path {
        tracing::info!(config = %path.display(), "config");
    }
    let config = gated_config(config_path, cache_dir, paths, trust).await?;
    let (mut host, report) = crate::load::load(&config)?;
    if let Some(telemetry) = &config.telemetry {
        host.export_telemetry(telemetry)?;
    }
    if host.components().is_empty() {
        bail!("no component could be loaded ({} refused; see the errors above)", report.refused.len());
    }
    tracing::info!(
        components = host.components().len(),
        tools = host.tools().count(),
        refused = report.refused.len(),
        listed_from_bytes = report.from_bytes.len(),
        transport = if http.is_some() { "http" } else { "stdio" },
        "components ready"
    );
    let host = Arc::new(host);
    super::progress::while_compiling(host.clone());
    let stopping = tokio_util::sync::CancellationToken::new();
    tokio::spawn(stop_on_signal(stopping.clone()));
    if let Some(bind) = config.metrics_bind {
        let (host, stop) = (host.clone(), stopping.clone());
        tokio::spawn(async move {
            if let Err(error) =
                crate::mcp::http::observe::serve_metrics(host, bind, stop.cancelled_owned()).await
            {
                tracing::error!(error = %format!("{error:#}"), "metrics are not served");
            }
        });
    }
    if let Some(address) = http {
        let mut options = config.http.clone();
        if !address.is_empty() {
            options.bind = address.parse().with_context(|| format!("--http {address}: expected IP:PORT"))?;
        }
        let stop = stopping.clone().cancelled_owned();
        crate::mcp::http::serve(host.clone(), options, config.drain_timeout, stop).await?;
        cancel_calls(&host).await;
        return finish(&host).await;
    }
    tracing::info!("serving MCP on stdio");
    let server = McpServer::new(host.clone());
    let service =
        server.serve(crate::mcp::stdio::Stdio::new()).await.context("MCP session failed to start")?;
    let session = service.cancellation_token();
    let mut waiting = tokio::spawn(service.waiting());
    let ended = tokio::select! {
        ended = &mut waiting => ended,
        () = stopping.cancelled() => {
            // The session goes on serving while its calls drain.
            drain_calls(&host, config.drain_timeout).await;
            session.cancel();
            waiting.await
        }
    };
    let reason = ended.context("MCP session ended abnormally")?.context("MCP session ended abnormally")?;
    tracing::info!(?reason, "MCP session closed");
    finish(&host).await
}

/// Cancels `stopping` at the first SIGTERM or SIGINT.
async fn stop_on_signal(stopping: tokio_util::sync::CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::warn!("cannot listen for SIGTERM and SIGINT; moat stops only when its input ends");
        return;
    };
    let which = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = which, "stopping");
    stopping.cancel();
}

/// Waits until no call is in flight, or `deadline` has passed.
async fn drain_calls(host: &Host, deadline: std::time::Duration) {
    let started = std::time::Instant::now();
    while host.metrics().calls_in_flight() > 0 && started.elapsed() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    match host.metrics().calls_in_flight() {
        0 => tracing::info!("drained"),
        left => {
            tracing::warn!(
                calls_in_flight = left,
                "the drain deadline passed; the calls still running are cancelled"
            );
            cancel_calls(host).await;
        }
    }
}

/// Cancels the calls still running and gives them a moment to end, each
/// with its audit record.
pub(super) async fn cancel_calls(host: &Host) {
    host.cancel_calls();
    let started = std::time::Instant::now();
    while host.metrics().calls_in_flight() > 0 && started.elapsed() < std::time::Duration::from_secs(2) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Flushes the audit log to disk and sends what telemetry has left; the
/// log itself is flushed as the process exits.
async fn finish(host: &Host) -> Result<()> {
    host.stop_telemetry().await;
    host.sync_audit()?;
    tracing::info!("stopped");
    Ok(())
}

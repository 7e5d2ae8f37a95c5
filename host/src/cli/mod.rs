//! The `moat` command line: `serve`, `inspect`, `vet`, `pack`.
//!
//! Each subcommand is a thin shell over the library: parse, call, report.
//! Logs go to stderr; stdout of `serve` belongs to the MCP protocol alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rmcp::ServiceExt;
use serde_json::{Value, json};

use crate::component::ComponentFile;
use crate::config::Config;
use crate::findings::Severity;
use crate::load::surface::{read_component, read_tools};
use crate::mcp::handler::McpServer;
use crate::metadata;
use crate::pack;
use crate::tools::{Naming, ToolDef, mcp_tool};

mod call;
mod log;
mod publish;
mod trust;
mod vet;
mod vet_server;

#[derive(Debug, Parser)]
#[command(name = "moat", version, about = "Serve MCP tools as sandboxed WebAssembly components")]
pub struct Cli {
    /// Log filter for stderr, e.g. `info`, `moat=debug` (overrides RUST_LOG).
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve components' tools over MCP on stdin/stdout.
    Serve {
        /// Config file naming components and their limits.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Directory for compiled components (default: the user cache directory).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Components to serve besides those in the config, named after their file.
        components: Vec<PathBuf>,
        /// Serve MCP Streamable HTTP at http://ADDR/mcp instead of stdio
        /// (default ADDR: [http] bind, else 127.0.0.1:8787).
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "")]
        http: Option<String>,
        #[command(flatten)]
        trust: ServeTrust,
    },
    /// Call one tool once, without an MCP client: prints the MCP result as JSON
    /// (log messages and progress go to stderr). Exit status 0 for a result, 1
    /// for a tool error (`isError`), 2 for bad input.
    Call {
        /// The tool, as served (`COMPONENT.function`).
        tool: String,
        /// Its arguments: a JSON object (default `{}`).
        arguments: Option<String>,
        /// Config file naming components and their limits.
        #[arg(long, short, default_value = "moat.toml")]
        config: PathBuf,
        /// Directory for compiled components (default: the user cache directory).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        #[command(flatten)]
        trust: ServeTrust,
    },
    /// Start a tool project: WIT, source, build.sh, test.sh and moat.toml, in
    /// DIR (default: ./NAME). It builds, passes its test and serves as it is.
    New {
        /// The project's name: the WIT world, the component and the tools' prefix.
        name: String,
        #[arg(long, value_enum)]
        lang: crate::scaffold::Language,
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Rust only: build for wasm32-unknown-unknown, so that the component
        /// imports nothing from WASI (for tools that need no files, network or clock).
        #[arg(long)]
        no_wasi: bool,
    },
    /// Make a bearer token for `serve --http`: prints the token (give it to the
    /// client) and the config lines that store only its SHA-256.
    Token { principal: String },
    /// Show a component's tools, schemas, imports, grants, metadata and digest.
    Inspect {
        component: PathBuf,
        /// Namespace for the tool names (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// Show the grants this config gives the component named NAME.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Look for poisoned tool metadata, shadowing, disguised text and broad grants.
    ///
    /// A TARGET is a component (.wasm) or a JSON file holding an MCP tools/list
    /// result, so any MCP server's tools can be vetted. With --server, moat
    /// connects to a running server instead and vets its tools, prompts and
    /// resources: `moat vet --server -- npx -y PACKAGE` (stdio) or
    /// `moat vet --server https://host/mcp --header 'Authorization: Bearer T'`.
    /// Exit status: 0 when nothing is at or above --fail-on, 1 when something
    /// is, 2 on bad input (a target that cannot be read, a server that does
    /// not answer).
    Vet {
        targets: Vec<PathBuf>,
        /// Connect to an MCP server: TARGET is its URL, or its command and
        /// arguments after `--`. It is listed, never called.
        #[arg(long)]
        server: bool,
        /// A header for an HTTP server, `Name: value` (repeatable).
        #[arg(long = "header", value_name = "NAME: VALUE", requires = "server")]
        headers: Vec<String>,
        /// Vet every server an MCP client's config file names (`mcpServers`
        /// or VS Code's `servers`), against each other.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["server", "targets", "config"])]
        client_config: Option<PathBuf>,
        /// How long a server may take to start and answer the list requests.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
        timeout: std::time::Duration,
        /// Take component names and grants from this config (vets all of its
        /// components when no TARGET is given).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// `text` or `json` (`{"tools":[{"name","findings":[...]}]}`).
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
        /// The severity at which the exit status becomes 1.
        #[arg(long, value_enum, default_value = "medium")]
        fail_on: Severity,
    },
    /// Pin each component of the config (bytes, tool definitions, grants) in moat.lock.
    ///
    /// `moat serve` refuses any component that differs from the lock and says
    /// what changed. Approve a change with `--update NAME` after reading it.
    Lock {
        #[arg(long, short, default_value = "moat.toml")]
        config: PathBuf,
        /// The lock file (default: moat.lock beside the config).
        #[arg(long)]
        lock: Option<PathBuf>,
        /// Approve the current state of component NAME (repeatable).
        #[arg(long, value_name = "NAME")]
        update: Vec<String>,
    },
    /// Make an ECDSA P-256 key pair: PREFIX.key (private) and PREFIX.pub.
    Keygen {
        #[arg(default_value = "moat")]
        prefix: PathBuf,
    },
    /// Sign a component: writes COMPONENT.sigstore.json (a sigstore bundle).
    Sign {
        component: PathBuf,
        /// The private key (PKCS#8 PEM, from `moat keygen`).
        #[arg(long)]
        key: PathBuf,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Verify a component's signature against public keys you trust.
    Verify {
        component: PathBuf,
        /// A trusted public key (PEM); repeatable.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Vet, sign and push a component to an OCI registry (Wasm artifact layout,
    /// cosign signature).
    Publish {
        component: PathBuf,
        /// Where: oci://HOST/REPOSITORY:TAG (plain HTTP only for loopback hosts).
        reference: String,
        /// The private key to sign with (PKCS#8 PEM, from `moat keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Refuse to publish with vet findings at or above this severity.
        #[arg(long, value_enum, default_value = "medium")]
        fail_on: Severity,
    },
    /// Pull a component from an OCI registry, verify its signature, vet it,
    /// and pin it by digest in the config and the lock.
    Add {
        /// oci://HOST/REPOSITORY:TAG or oci://HOST/REPOSITORY@sha256:...
        reference: String,
        /// A trusted public key (PEM); repeatable (default: the config's [trust] keys).
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
        #[arg(long, short, default_value = "moat.toml")]
        config: PathBuf,
        /// The component's name (default: the repository's last segment).
        #[arg(long)]
        name: Option<String>,
        /// Refuse to add with vet findings at or above this severity.
        #[arg(long, value_enum, default_value = "medium")]
        fail_on: Severity,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Embed the WIT documentation of a component's tools into the component.
    Pack {
        component: PathBuf,
        /// The WIT file or directory the component was built from.
        #[arg(long)]
        wit: PathBuf,
        /// The world to read (default: the package's only world).
        #[arg(long)]
        world: Option<String>,
        /// Where to write the packed component (default: replace COMPONENT).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// What `serve` demands of components before it serves them.
#[derive(Debug, clap::Args)]
struct ServeTrust {
    /// The lock file (default: moat.lock beside the config, when it exists).
    #[arg(long)]
    lock: Option<PathBuf>,
    /// Refuse to start without a lock file.
    #[arg(long)]
    locked: bool,
    /// Refuse components without a valid signature from a trusted key.
    #[arg(long)]
    require_signature: bool,
    /// A trusted public key (PEM), besides the config's [trust] keys; repeatable.
    #[arg(long = "trusted-key", value_name = "FILE")]
    trusted_keys: Vec<PathBuf>,
    /// Append one hash-chained JSON line per call to FILE (overrides [audit] path).
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the chain from the first line; name the first edited, removed or moved line.
    Verify { file: PathBuf },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// Exit status for bad input where a command distinguishes it (`moat vet`).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Entry point of the `moat` binary: the process exit status, or an error.
pub fn main() -> Result<std::process::ExitCode> {
    let cli = Cli::parse();
    // A vet's result is its report: the MCP client's own progress lines
    // (`moat vet --server`) stay below the default level.
    let default_level = if matches!(cli.command, Command::Vet { .. }) { "warn" } else { "info" };
    let _log = init_logging(cli.log.as_deref(), default_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve { config, cache_dir, components, http, trust } => {
                serve(config.as_deref(), cache_dir, &components, http.as_deref(), &trust).await
            }
            Command::Call { tool, arguments, config, cache_dir, trust } => {
                let config = gated_config(Some(&config), cache_dir, &[], &trust)?;
                return call::call(&config, &tool, arguments.as_deref()).await;
            }
            Command::New { name, lang, dir, no_wasi } => {
                let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
                crate::scaffold::create(&name, lang, no_wasi, &dir)?;
                println!("created {} ({name}, {lang:?}); next:", dir.display());
                println!("  cd {} && ./test.sh     # build, call once through moat, vet", dir.display());
                println!("  moat serve -c {}/moat.toml", dir.display());
                Ok(())
            }
            Command::Token { principal } => {
                let token = crate::mcp::http::new_token();
                println!("token for `{principal}` (shown once; give it to the client):\n  {token}\n");
                println!(
                    "add to moat.toml:\n[http.tokens.{principal}]\nsha256 = \"{}\"\ntools = [\"*\"]",
                    crate::mcp::http::hash_token(&token)
                );
                Ok(())
            }
            Command::Lock { config, lock, update } => {
                let lock = lock.unwrap_or_else(|| crate::lock::path_for_config(&config));
                let complete = trust::lock(&config, &lock, &update)?;
                return Ok(if complete {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                });
            }
            Command::Keygen { prefix } => trust::keygen(&prefix),
            Command::Audit { command: AuditCommand::Verify { file } } => {
                let verified = crate::audit::verify(&file)?;
                println!(
                    "{}: {} lines, chain intact; head {}",
                    file.display(),
                    verified.lines,
                    verified.head
                );
                Ok(())
            }
            Command::Publish { component, reference, key, fail_on } => {
                publish::publish(&component, &reference, &key, fail_on).await
            }
            Command::Add { reference, keys, config, name, fail_on } => {
                publish::add(&reference, &keys, &config, name.as_deref(), fail_on).await
            }
            Command::Sign { component, key, output } => {
                trust::sign(&component, &key, output.as_deref()).map(drop)
            }
            Command::Verify { component, keys } => trust::verify(&component, &keys),
            Command::Inspect { component, name, config, json } => {
                inspect(&component, name.as_deref(), config.as_deref(), json)
            }
            Command::Vet { client_config: Some(path), timeout, format, fail_on, .. } => {
                let (targets, failures) = match vet_server::client_config_targets(&path, timeout).await {
                    Ok(found) => found,
                    Err(error) => (Vec::new(), vec![error]),
                };
                return Ok(vet_report_with(targets, failures, format, fail_on));
            }
            Command::Vet { targets, server: true, headers, timeout, format, fail_on, .. } => {
                let spec: Vec<String> = targets.iter().map(|t| t.to_string_lossy().into_owned()).collect();
                let target = vet_server::server_target(&spec, &headers, timeout).await;
                return Ok(vet_report(target.map(|t| vec![t]), format, fail_on));
            }
            Command::Vet { targets, config, format, fail_on, .. } => {
                return Ok(vet_report(vet::load_targets(&targets, config.as_deref()), format, fail_on));
            }
            Command::Pack { component, wit, world, output } => {
                pack(&component, &wit, world.as_deref(), output.as_deref().unwrap_or(&component))
            }
        }?;
        Ok(std::process::ExitCode::SUCCESS)
    })
}

/// Logs go to stderr from a thread of their own, in batches, never from the
/// threads that serve: a stderr nobody reads cannot stop moat (see [`log`]).
///
/// Only events are logged, never spans. moat opens none; rmcp wraps its
/// service loop and every request's task in one (`serve_inner`, no fields),
/// and a recorded span is entered and left at every poll of those tasks:
/// about 5,000 instructions of a trivial call (callgrind), for a prefix on
/// each line.
fn init_logging(filter: Option<&str>, default_level: &str) -> Result<log::LogWriter> {
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;
    let (queue, writer) = log::spawn(std::io::stderr(), log::BACKLOG_LINES)?;
    let stderr = fmt::layer()
        .with_writer(queue)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(log_filter(filter, default_level));
    tracing_subscriber::registry().with(stderr).init();
    Ok(writer)
}

/// What is logged: `filter` (else `RUST_LOG`, else `default_level`), events only.
fn log_filter<S>(
    filter: Option<&str>,
    default_level: &str,
) -> impl tracing_subscriber::layer::Filter<S> + use<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::{FilterExt, LevelFilter, filter_fn};
    let filter = match filter {
        Some(filter) => EnvFilter::new(filter),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
    };
    // rmcp's HTTP transport logs session IDs; session IDs are never logged,
    // whatever the filter (moat's own HTTP gate logs every refusal).
    let filter =
        filter.add_directive("rmcp::transport::streamable_http_server=off".parse().expect("valid directive"));
    // Every level passes this half, so the filter's level alone bounds what
    // is logged; without the hint `log` records would all be turned into
    // events before being dropped (28 per trivial call, all below info; wasmtime
    // is among the crates that log through `log`).
    let events_only = filter_fn(|metadata| metadata.is_event()).with_max_level_hint(LevelFilter::TRACE);
    filter.and(events_only)
}

/// The config to serve (or call) with: the file, the components named on the
/// command line, and the trust gates of the command line and the lock file.
fn gated_config(
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

async fn serve(
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
        server.serve(rmcp::transport::io::stdio_pipes()).await.context("MCP session failed to start")?;
    let reason = service.waiting().await.context("MCP session ended abnormally")?;
    tracing::info!(?reason, "MCP session closed");
    Ok(())
}

/// The component at `path`, its tools under `naming` as `moat serve` would
/// serve them, and its imports.
fn compiled_tools(path: &Path, naming: &Naming) -> Result<(ComponentFile, Vec<ToolDef>, Vec<String>)> {
    let (read, tools) = read_tools(path, naming)?;
    Ok((read.file, tools.definitions().cloned().collect(), read.surface.imports))
}

fn vet_report(
    targets: Result<Vec<vet::Target>>,
    format: OutputFormat,
    fail_on: Severity,
) -> std::process::ExitCode {
    match targets {
        Ok(targets) => vet_report_with(targets, Vec::new(), format, fail_on),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Reports what could be vetted; `failures` (servers that could not be
/// listed) are printed after it and make the exit status 2.
fn vet_report_with(
    targets: Vec<vet::Target>,
    failures: Vec<anyhow::Error>,
    format: OutputFormat,
    fail_on: Severity,
) -> std::process::ExitCode {
    if targets.is_empty() && !failures.is_empty() {
        failures.iter().for_each(|error| eprintln!("error: {error:#}"));
        return std::process::ExitCode::from(EXIT_BAD_INPUT);
    }
    let report = vet::vet_targets(targets);
    match format {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&report.to_json(fail_on)).expect("reports serialise"))
        }
        OutputFormat::Text => print!("{}", report.to_text(fail_on)),
    }
    failures.iter().for_each(|error| eprintln!("error: {error:#}"));
    match report.worst() {
        _ if !failures.is_empty() => std::process::ExitCode::from(EXIT_BAD_INPUT),
        Some(worst) if worst >= fail_on => std::process::ExitCode::FAILURE,
        _ => std::process::ExitCode::SUCCESS,
    }
}

fn inspect(path: &Path, name: Option<&str>, config: Option<&Path>, as_json: bool) -> Result<()> {
    let name = match name {
        Some(name) => name.to_string(),
        None => path.file_stem().and_then(|s| s.to_str()).unwrap_or("component").replace('_', "-"),
    };
    crate::config::validate_component_name(&name)?;
    let (policy, naming) = match config {
        Some(config) => {
            let spec =
                Config::load(config)?.components.into_iter().find(|c| c.name == name).with_context(|| {
                    format!("{} has no component named `{name}` (use --name)", config.display())
                })?;
            (spec.policy.clone(), spec.naming())
        }
        None => (Default::default(), Naming::new(&name)),
    };
    let (read, derived) = read_tools(path, &naming)?;
    let (file, imports, linkable) = (&read.file, &read.surface.imports, read.link_error);
    let grants = policy.describe();
    let warnings = policy.ungranted_imports(imports);
    let tools: Vec<ToolDef> = derived.definitions().cloned().collect();
    let unavailable: Vec<(&str, &str)> =
        derived.not_tools.iter().map(|n| (n.path.as_str(), n.reason.as_str())).collect();
    let tool_json = |t: &ToolDef| {
        let mut value = serde_json::to_value(mcp_tool(t)).expect("tools serialise");
        value["x-moat-generated-description"] = json!(t.generated_description);
        value
    };
    let report = json!({
        "path": path.display().to_string(),
        "digest": file.digest,
        "size": file.bytes.len(),
        "metadata": file.metadata.as_ref().map(|m| json!({"world": m.world, "functions": m.functions.len()})),
        "imports": imports,
        "grants": grants,
        "warnings": warnings,
        "links": linkable.is_none(),
        "link_error": linkable,
        "tools": tools.iter().map(tool_json).collect::<Vec<_>>(),
        "unavailable": unavailable.iter().map(|(f, r)| json!({"function": f, "reason": r})).collect::<Vec<_>>(),
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_inspect_text(&report, &tools);
    Ok(())
}

fn print_inspect_text(report: &Value, tools: &[ToolDef]) {
    println!("component  {}", report["path"].as_str().unwrap_or_default());
    println!("digest     {}", report["digest"].as_str().unwrap_or_default());
    println!("size       {} bytes", report["size"]);
    match report["metadata"].as_object() {
        Some(m) => println!(
            "metadata   embedded, world {} ({} functions documented)",
            m["world"].as_str().unwrap_or_default(),
            m["functions"]
        ),
        None => println!("metadata   none: descriptions are generated (build with `moat pack`)"),
    }
    println!("imports");
    let imports = report["imports"].as_array().cloned().unwrap_or_default();
    if imports.is_empty() {
        println!("  none: the component needs nothing from the host, not even WASI");
    }
    for import in imports {
        println!("  {}", import.as_str().unwrap_or_default());
    }
    if let Some(error) = report["link_error"].as_str() {
        println!("  ! cannot be served by this host: {error}");
    }
    println!("grants");
    let grants = report["grants"].as_array().cloned().unwrap_or_default();
    if grants.is_empty() {
        println!("  none: the component can reach nothing outside itself");
    }
    for grant in grants {
        println!("  {}", grant.as_str().unwrap_or_default());
    }
    for warning in report["warnings"].as_array().into_iter().flatten() {
        println!("  ! {}", warning.as_str().unwrap_or_default());
    }
    println!("tools");
    for tool in tools {
        let mut hints = Vec::new();
        for (set, label) in [
            (tool.hints.read_only == Some(true), "read-only"),
            (tool.hints.destructive == Some(true), "destructive"),
            (tool.hints.destructive == Some(false), "non-destructive"),
            (tool.hints.idempotent == Some(true), "idempotent"),
            (tool.hints.open_world == Some(false), "closed-world"),
            (tool.hints.open_world == Some(true), "open-world"),
        ] {
            if set {
                hints.push(label);
            }
        }
        let hints = if hints.is_empty() { String::new() } else { format!("  [{}]", hints.join(", ")) };
        println!("  {}{hints}", tool.name);
        for line in tool.description.lines() {
            println!("      {line}");
        }
        println!("      input:  {}", Value::Object((*tool.input_schema).clone()));
        if let Some(output) = &tool.output_schema {
            println!("      output: {}", Value::Object((**output).clone()));
        }
    }
    let unavailable = report["unavailable"].as_array().cloned().unwrap_or_default();
    if !unavailable.is_empty() {
        println!("not tools");
        for item in unavailable {
            println!(
                "  {}: {}",
                item["function"].as_str().unwrap_or_default(),
                item["reason"].as_str().unwrap_or_default()
            );
        }
    }
}

fn pack(component_path: &Path, wit: &Path, world: Option<&str>, output: &Path) -> Result<()> {
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
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write to {}", dir.display()))?;
    std::io::Write::write_all(&mut temp, &packed)?;
    // Keep the permissions of the input (a temporary file starts out 0600).
    let permissions = std::fs::metadata(component_path)?.permissions();
    temp.as_file().set_permissions(permissions)?;
    temp.persist(output).with_context(|| format!("cannot write {}", output.display()))?;
    let packed_file = ComponentFile::from_bytes(output, packed)?;
    eprintln!(
        "packed {} ({} functions documented, world {}) → {}\ndigest {}",
        component_path.display(),
        metadata.functions.len(),
        metadata.world,
        output.display(),
        packed_file.digest
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::Filter;

    #[test]
    fn the_log_filters_level_bounds_what_log_and_tracing_record() {
        for (filter, level) in
            [("info", LevelFilter::INFO), ("warn", LevelFilter::WARN), ("debug", LevelFilter::DEBUG)]
        {
            let filter = super::log_filter::<tracing_subscriber::Registry>(Some(filter), "info");
            assert_eq!(Filter::max_level_hint(&filter), Some(level));
        }
    }
}

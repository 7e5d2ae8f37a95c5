//! The `moat` command line: parses (`args`), starts the log, and hands each
//! command to its module. Each command is a thin shell over the library:
//! parse, call, report. Logs go to stderr; stdout of `serve` belongs to the
//! MCP protocol alone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Parser;

use self::args::{AuditCommand, CatalogCommand, Cli, ClientCommand, Command, LogFormat, OutputFormat};
use self::inspect::inspect;
use self::pack::pack;
use self::serve::{gated_config, serve};
use self::vet::{vet_report, vet_report_with};
use crate::component::ComponentFile;
use crate::load::surface::{ComponentTools, read_tools};
use crate::tools::Naming;

mod args;
#[macro_use]
pub(crate) mod output;
mod call;
mod catalog;
mod client;
mod inspect;
mod log;
mod pack;
mod progress;
mod publish;
mod serve;
mod trust;
mod vet;
mod vet_server;

/// Exit status for bad input where a command distinguishes it (`moat vet`).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Entry point of the `moat` binary: the process exit status, or an error.
pub fn main() -> Result<std::process::ExitCode> {
    let cli = Cli::parse();
    // A vet's result is its report: the MCP client's own progress lines
    // (`moat vet --server`) stay below the default level.
    let default_level = if matches!(cli.command, Command::Vet { .. }) { "warn" } else { "info" };
    let _log = init_logging(cli.log.as_deref(), default_level, cli.log_format)?;
    let format = cli.format;
    output::set_json(format == OutputFormat::Json);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let status = runtime.block_on(async {
        match cli.command {
            Command::Serve { config, cache_dir, components, http, trust } => {
                serve(config.as_deref(), cache_dir, &components, http.as_deref(), &trust).await
            }
            Command::Call { tool, arguments, config, cache_dir, trust } => {
                let config_path = crate::config::named_or_discovered(config.as_deref())?;
                let config = gated_config(Some(&config_path), cache_dir, &[], &trust).await?;
                return call::call(&config, &tool, arguments.as_deref()).await;
            }
            Command::New { name, lang, dir, no_wasi } => {
                let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
                crate::scaffold::create(&name, lang, no_wasi, &dir)?;
                outln!("created {} ({name}, {lang:?}); next:", dir.display());
                outln!("  cd {} && ./test.sh     # build, call once through moat, vet", dir.display());
                outln!("  moat serve -c {}/moat.toml", dir.display());
                output::result(&serde_json::json!({"created": dir, "name": name, "lang": format!("{lang:?}").to_lowercase()}));
                Ok(())
            }
            Command::Token { principal } => {
                let token = crate::mcp::http::new_token();
                outln!("token for `{principal}` (shown once; give it to the client):\n  {token}\n");
                let sha256 = crate::mcp::http::hash_token(&token);
                outln!("add to moat.toml:\n[http.tokens.{principal}]\nsha256 = \"{sha256}\"\ntools = [\"*\"]");
                output::result(&serde_json::json!({"principal": principal, "token": token, "sha256": sha256}));
                Ok(())
            }
            Command::Lock { config, lock, update } => {
                let config = crate::config::named_or_discovered(config.as_deref())?;
                let lock = lock.unwrap_or_else(|| crate::lock::path_for_config(&config));
                let complete = trust::lock(&config, &lock, &update)?;
                return Ok(if complete {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                });
            }
            Command::Keygen { prefix } => trust::keygen(&prefix),
            Command::Completions { shell } => {
                let mut buffer = Vec::new();
                clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "moat", &mut buffer);
                out!("{}", String::from_utf8_lossy(&buffer));
                Ok(())
            }
            Command::Man { dir } => manual(dir.as_deref()),
            Command::Client {
                command: ClientCommand::Add { client, name, config, http, token_env, command, file, dry_run, force },
            } => client::add(client::AddRequest {
                client,
                name,
                config,
                http,
                token_env,
                command,
                file,
                dry_run,
                force,
            }),
            Command::Client { command: ClientCommand::List } => client::list(),
            Command::Audit { command: AuditCommand::Verify { files } } => {
                let mut broken = Vec::new();
                let mut logs = Vec::new();
                for file in &files {
                    let verified = match crate::audit::verify(file) {
                        Ok(verified) => verified,
                        Err(error) if files.len() == 1 => return Err(error),
                        Err(error) => {
                            eprintln!("error: {error:#}");
                            logs.push(serde_json::json!({"file": file, "intact": false, "error": format!("{error:#}")}));
                            broken.push(file.display().to_string());
                            continue;
                        }
                    };
                    logs.push(serde_json::json!({
                        "file": file, "intact": true, "lines": verified.lines, "head": verified.head,
                        "unfinished_bytes": verified.unfinished,
                    }));
                    outln!("{}: {} lines, chain intact; head {}", file.display(), verified.lines, verified.head);
                    if let Some(bytes) = verified.unfinished {
                        outln!(
                            "  then {bytes} bytes of an unfinished line, outside the chain: a moat stopped while writing it (its call was never answered)"
                        );
                    }
                }
                output::result(&serde_json::json!({ "logs": logs }));
                match broken.is_empty() {
                    true => Ok(()),
                    false => anyhow::bail!("{} of {} logs fail: {}", broken.len(), files.len(), broken.join(", ")),
                }
            }
            Command::Publish { component, reference, key, fail_on, server_json, server_name, remote } => {
                let listing = publish::ListingRequest { file: server_json, name: server_name, remote };
                let published = publish::publish(&component, &reference, &key, fail_on, &listing).await?;
                output::result(&published.report);
                Ok(())
            }
            Command::Add { reference, catalog, dirs, keys, config, name, fail_on } => {
                let config = config
                    .or_else(crate::config::discover)
                    .unwrap_or_else(|| PathBuf::from(crate::config::CONFIG_FILE));
                if catalog::is_catalog_name(&reference) {
                    let request = catalog::AddRequest {
                        name: &reference, index: catalog, dirs, keys, config, as_name: name, fail_on,
                    };
                    catalog::add(request).await
                } else if !dirs.is_empty() {
                    Err(anyhow::anyhow!(
                        "--dir answers a catalog component's question; {reference} is not a catalog name"
                    ))
                } else {
                    publish::add(&reference, &keys, &config, name.as_deref(), fail_on, "").await
                }
            }
            Command::Catalog { command: CatalogCommand::Publish { source, registry, key, output, fail_on } } => {
                catalog::publish_catalog(&source, &registry, &key, &output, fail_on).await
            }
            Command::Sign { component, key, output } => {
                trust::sign(&component, &key, output.as_deref()).map(drop)
            }
            Command::Verify { component, keys } => trust::verify(&component, &keys),
            Command::Inspect { component, name, config, json } => {
                output::set_json(json || output::json());
                inspect(&component, name.as_deref(), config.as_deref())
            }
            Command::Vet { client_config: Some(path), timeout, fail_on, .. } => {
                let (targets, failures) = match vet_server::client_config_targets(&path, timeout).await {
                    Ok(found) => found,
                    Err(error) => (Vec::new(), vec![error]),
                };
                return Ok(vet_report_with(targets, failures, format, fail_on));
            }
            Command::Vet { targets, server: true, headers, timeout, fail_on, .. } => {
                let spec: Vec<String> = targets.iter().map(|t| t.to_string_lossy().into_owned()).collect();
                let target = vet_server::server_target(&spec, &headers, timeout).await;
                return Ok(vet_report(target.map(|t| vec![t]), format, fail_on));
            }
            Command::Vet { targets, config, fail_on, .. } => {
                return Ok(vet_report(vet::load_targets(&targets, config.as_deref()), format, fail_on));
            }
            Command::Pack { component, wit, world, output } => {
                pack(&component, &wit, world.as_deref(), output.as_deref().unwrap_or(&component))
            }
        }?;
        Ok(std::process::ExitCode::SUCCESS)
    });
    // A read of stdin may still be blocked on a thread of the runtime (a
    // serve stopped by a signal): it is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    status
}

/// `moat man`: the manual page of moat on stdout, or one page per command
/// (subcommands included) in `dir`.
fn manual(dir: Option<&Path>) -> Result<()> {
    let command = <Cli as clap::CommandFactory>::command();
    let Some(dir) = dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        out!("{}", String::from_utf8_lossy(&page));
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = 0;
    let mut pending = vec![(String::from("moat"), command)];
    while let Some((name, mut command)) = pending.pop() {
        command = command.name(name.clone());
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            pending.push((format!("{name}-{}", sub.get_name()), sub.clone()));
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        crate::store::write_atomically(&dir.join(format!("{name}.1")), &page)?;
        written += 1;
    }
    outln!("wrote {written} manual pages in {}", dir.display());
    output::result(&serde_json::json!({"dir": dir, "pages": written}));
    Ok(())
}

/// Logs go to stderr from a thread of their own, in batches, never from the
/// threads that serve: a stderr nobody reads cannot stop moat (see [`log`]).
///
/// Only events are logged, never spans. moat opens none; rmcp wraps its
/// service loop and every request's task in one (`serve_inner`, no fields),
/// and a recorded span is entered and left at every poll of those tasks:
/// about 5,000 instructions of a trivial call (callgrind), for a prefix on
/// each line.
fn init_logging(filter: Option<&str>, default_level: &str, format: LogFormat) -> Result<log::LogWriter> {
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;
    let (queue, writer) = log::spawn(progress::BelowBars, log::BACKLOG_LINES)?;
    let stderr = match format {
        LogFormat::Text => fmt::layer()
            .with_writer(queue)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(log_filter(filter, default_level))
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(queue)
            .with_filter(log_filter(filter, default_level))
            .boxed(),
    };
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

/// The component at `path`, its tools under `naming` as `moat serve` would
/// serve them, and its imports.
fn compiled_tools(path: &Path, naming: &Naming) -> Result<(ComponentFile, ComponentTools, Vec<String>)> {
    let (read, tools) = read_tools(path, naming)?;
    Ok((read.file, tools, read.surface.imports))
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

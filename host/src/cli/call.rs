//! `moat call TOOL [ARGUMENTS]`: one call, without an MCP client, for tool
//! authors and their tests. The same host, limits, grants, lock and output
//! scanning as `moat serve`; the result is printed as the JSON an MCP client
//! would receive, and the tool's log messages and progress go to stderr.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::config::Unconfirmable;
use crate::mcp::handler::{STDIO_PRINCIPAL, call_result};
use crate::runtime::notices::{Level, Notice, NoticeRoute};

pub async fn call(config: &Config, tool: &str, arguments: Option<&str>) -> Result<ExitCode> {
    let arguments: Map<String, Value> = match arguments {
        None => Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                eprintln!("error: the arguments must be a JSON object, not {other}");
                return Ok(ExitCode::from(super::EXIT_BAD_INPUT));
            }
            Err(error) => {
                eprintln!("error: the arguments are not JSON: {error}");
                return Ok(ExitCode::from(super::EXIT_BAD_INPUT));
            }
        },
    };
    let host = std::sync::Arc::new(crate::load::load(config)?.0);
    super::progress::while_compiling(host.clone());
    if host.tool(tool).is_none() {
        let served: Vec<&str> = host.tools().map(|t| t.name.as_str()).collect();
        eprintln!("error: no tool `{tool}`; served: {}", served.join(", "));
        return Ok(ExitCode::from(super::EXIT_BAD_INPUT));
    }
    let (sender, mut notices) = mpsc::unbounded_channel();
    let route = NoticeRoute {
        sender,
        min_level: Some(Level::Debug),
        progress: true,
        progress_floor: None,
        asks: None,
        declared: Default::default(),
    };
    let printer = tokio::spawn(async move {
        while let Some(notice) = notices.recv().await {
            eprintln!("{}", describe(&notice));
        }
    });
    // Nobody can be asked to confirm here: the policy's answer for a client
    // that cannot ask applies.
    let unconfirmed = host.needs_confirmation(tool) && host.unconfirmable() == Unconfirmable::Refuse;
    let outcome = if unconfirmed {
        let reason = "this tool needs the user's confirmation, and `moat call` cannot ask (use a client, or [confirm] unsupported = \"allow\")";
        drop(route); // no notices: the printer ends
        host.not_confirmed(STDIO_PRINCIPAL, tool, Some(&arguments), reason.to_string())
    } else {
        host.call(STDIO_PRINCIPAL, tool, Some(&arguments), Some(route), &CancellationToken::new()).await
    }
    .context("the tool disappeared")?;
    printer.await.ok();
    let result = call_result(tool, outcome);
    // A reader that stops early (`moat call ... | head`) is not an error of the tool's.
    let text = serde_json::to_string_pretty(&result)?;
    let printed = super::progress::suspend(|| writeln!(std::io::stdout().lock(), "{text}"));
    if let Err(error) = printed
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(error).context("cannot write the result to stdout");
    }
    Ok(if result.is_error == Some(true) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A notice as one line of stderr.
fn describe(notice: &Notice) -> String {
    match notice {
        Notice::Log { level, message, fields } => {
            let fields: String = fields.iter().map(|(name, value)| format!(" {name}={value:?}")).collect();
            format!("log {}: {message}{fields}", level.as_str())
        }
        Notice::Progress { progress, total, message } => {
            let total = total.map(|t| format!("/{t}")).unwrap_or_default();
            let message = message.as_ref().map(|m| format!(": {m}")).unwrap_or_default();
            format!("progress {progress}{total}{message}")
        }
        Notice::Dropped { rate } => format!("moat dropped {rate} notices over the rate limit"),
        Notice::Scanned { findings, .. } => format!("moat output scan: {} findings", findings.len()),
    }
}

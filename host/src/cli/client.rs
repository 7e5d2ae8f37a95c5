//! `moat client add` and `moat client list`: moat's entry in an MCP client's
//! own config file, written (merged, with a backup) or shown. The files'
//! formats are [`crate::clients`]; this module finds the files, the moat
//! executable and the config the entry names, and reports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::clients::{Client, Entry};

/// What `moat client add` was asked for.
pub(super) struct AddRequest {
    pub client: Client,
    pub name: String,
    pub config: Option<PathBuf>,
    pub http: Option<String>,
    pub token_env: Option<String>,
    pub command: Option<PathBuf>,
    pub file: Option<PathBuf>,
    pub dry_run: bool,
    pub force: bool,
}

/// The user-wide config file of `client` on this machine.
fn client_file(client: Client) -> Result<PathBuf> {
    let home = dirs::home_dir().context("the home directory is unknown; give --file")?;
    let config_dir = dirs::config_dir().unwrap_or_else(|| home.join(".config"));
    let codex_home = std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    Ok(client.config_path(&home, &config_dir, codex_home.as_deref()))
}

pub(super) fn add(request: AddRequest) -> Result<()> {
    let client = request.client;
    let entry = match &request.http {
        Some(url) => {
            let parsed = url::Url::parse(url).with_context(|| format!("--http {url}: not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("--http {url}: expected an http or https URL such as http://127.0.0.1:8787/mcp");
            }
            if let Some(var) = &request.token_env
                && (var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            {
                bail!(
                    "--token-env {var:?}: expected the name of an environment variable, such as MOAT_TOKEN"
                );
            }
            Entry::Http { url: url.clone(), token_env: request.token_env.clone() }
        }
        None => {
            let config = crate::config::named_or_discovered(request.config.as_deref())?;
            let config = std::fs::canonicalize(&config)
                .with_context(|| format!("cannot read {}", config.display()))?;
            crate::config::Config::load(&config)?;
            let command = match &request.command {
                Some(command) => command.clone(),
                None => moat_executable()?,
            };
            let args = vec!["serve".to_owned(), "--config".to_owned(), config.to_string_lossy().into_owned()];
            Entry::Stdio { command, args }
        }
    };
    let file = match &request.file {
        Some(file) => file.clone(),
        None => client_file(client)?,
    };
    let before = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", file.display())),
    };
    let change = client
        .add(before.as_deref(), &request.name, &entry, request.force)
        .with_context(|| format!("{} ({})", file.display(), client.title()))?;
    let result = |changed: bool, backup: Option<&Path>, diff: Option<String>| {
        super::output::result(&serde_json::json!({
            "client": client.id(), "file": file, "name": request.name, "changed": changed,
            "replaced": change.replaced, "backup": backup, "dry_run": request.dry_run, "diff": diff,
        }))
    };
    if change.is_noop() {
        outln!("{}: `{}` is already there, as asked; nothing changed", file.display(), request.name);
        result(false, None, None);
        return Ok(());
    }
    if request.dry_run {
        let before = change.before.as_deref().unwrap_or("");
        let diff = similar::TextDiff::from_lines(before, &change.after);
        let shown = file.display().to_string();
        let diff = diff.unified_diff().context_radius(3).header(&shown, &shown).to_string();
        out!("{diff}");
        outln!("(--dry-run: {} is unchanged)", file.display());
        result(false, None, Some(diff));
        return Ok(());
    }
    let backup = match &change.before {
        Some(text) => Some(backup(&file, text)?),
        None => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            None
        }
    };
    crate::store::write_atomically(&file, change.after.as_bytes())?;
    let verb = if change.replaced { "replaced" } else { "added" };
    outln!("{verb} `{}` in {}'s config {}", request.name, client.title(), file.display());
    if let Some(backup) = &backup {
        outln!("  the file as it was: {}", backup.display());
    }
    result(true, backup.as_deref(), None);
    if let Entry::Http { token_env: Some(var), .. } = &entry {
        outln!(
            "  the token is read from ${var} when {} starts: set it there, not in the file",
            client.title()
        );
    }
    outln!("  {}", restart_hint(client));
    Ok(())
}

/// A copy of the file as it was, beside it, named by the time.
fn backup(file: &Path, text: &str) -> Result<PathBuf> {
    let seconds =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut name = file.file_name().context("the client's config path names no file")?.to_os_string();
    name.push(format!(".moat-backup-{seconds}"));
    let backup = file.with_file_name(name);
    crate::store::write_atomically(&backup, text.as_bytes())?;
    Ok(backup)
}

fn restart_hint(client: Client) -> &'static str {
    match client {
        Client::ClaudeDesktop => "restart Claude Desktop to load it",
        Client::ClaudeCode => "`claude mcp list` shows it; new Claude Code sessions load it",
        Client::Vscode => "VS Code loads it at once (MCP: List Servers)",
        Client::Cursor => "Cursor loads it at once (Settings → MCP)",
        Client::Codex => "`codex mcp list` shows it; new Codex sessions load it",
        Client::Gemini => "`gemini mcp list` shows it; new Gemini CLI sessions load it",
    }
}

/// The moat the entry runs: this executable, by its absolute path, or the
/// same file as found on PATH. A build inside a cargo target directory is
/// named with a warning, since `cargo clean` removes it.
fn moat_executable() -> Result<PathBuf> {
    let this = std::env::current_exe().context("cannot find the moat executable; give --command")?;
    let this = std::fs::canonicalize(&this).unwrap_or(this);
    let on_path =
        std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    for dir in on_path {
        let candidate = dir.join(this.file_name().unwrap_or_default());
        if std::fs::canonicalize(&candidate).is_ok_and(|found| found == this) {
            return Ok(candidate);
        }
    }
    let parts: Vec<_> = this.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.windows(2).any(|w| w[0] == "target" && matches!(w[1].as_str(), "debug" | "release")) {
        tracing::warn!(
            executable = %this.display(),
            "the entry names a moat inside a cargo target directory, which `cargo clean` removes: \
             install it (`cargo install --path host`) and add the entry again, or give --command"
        );
    }
    Ok(this)
}

pub(super) fn list() -> Result<()> {
    let mut report = Vec::new();
    for client in Client::ALL {
        let file = client_file(client)?;
        let (servers, error) = match std::fs::read_to_string(&file) {
            Ok(text) => match client.list(&text) {
                Ok(servers) => (servers, None),
                Err(error) => (Vec::new(), Some(format!("{error:#}"))),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => (Vec::new(), None),
            Err(error) => (Vec::new(), Some(error.to_string())),
        };
        report.push((client, file, servers, error));
    }
    if super::output::json() {
        let clients: Vec<_> = report
            .iter()
            .map(|(client, file, servers, error)| {
                serde_json::json!({
                    "client": client.id(), "file": file, "exists": file.is_file(),
                    "servers": servers, "error": error,
                })
            })
            .collect();
        super::output::result(&serde_json::json!({ "clients": clients }));
        return Ok(());
    }
    for (client, file, servers, error) in &report {
        let state = match (file.is_file(), error) {
            (_, Some(error)) => format!("unreadable: {error}"),
            (false, None) => "no file".to_owned(),
            (true, None) if servers.is_empty() => "no MCP servers".to_owned(),
            (true, None) => format!("{} MCP server(s)", servers.len()),
        };
        outln!("{:<15} {} ({state})", client.id(), file.display());
        for server in servers {
            let mark = if server.moat { "moat" } else { "" };
            outln!("  {:<4} {:<16} {:<5} {}", mark, server.name, server.transport, server.target);
        }
    }
    Ok(())
}

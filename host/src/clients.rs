//! The MCP clients' own config files: where each client keeps its servers,
//! how an entry that runs moat is written in each one's dialect, and how it
//! is merged into a file the user already has without losing a byte of
//! theirs (comments, order and indentation included).
//!
//! JSON files are edited through jsonc-parser's concrete syntax tree, so a
//! VS Code `mcp.json` keeps its comments and trailing commas; Codex's TOML
//! through toml_edit, for the same reason.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::{Value, json};

/// A client moat can write its entry for (`moat client add CLIENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    ClaudeDesktop,
    ClaudeCode,
    Vscode,
    Cursor,
    Codex,
    Gemini,
}

/// How moat is reached: a command the client starts, or a URL it connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Stdio { command: PathBuf, args: Vec<String> },
    Http { url: String, token_env: Option<String> },
}

/// One server a client's file names, as `moat client list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    pub name: String,
    /// `stdio` or `http`.
    pub transport: &'static str,
    /// The command and its arguments, or the URL.
    pub target: String,
    /// The command is a moat executable.
    pub moat: bool,
}

/// What adding an entry does to a file: its text before (absent for a new
/// file) and after.
#[derive(Debug, Clone)]
pub struct Change {
    pub before: Option<String>,
    pub after: String,
    /// An entry of that name was there, different, and is replaced.
    pub replaced: bool,
}

impl Change {
    pub fn is_noop(&self) -> bool {
        self.before.as_deref() == Some(self.after.as_str())
    }
}

impl Client {
    pub const ALL: [Client; 6] = [
        Client::ClaudeDesktop,
        Client::ClaudeCode,
        Client::Vscode,
        Client::Cursor,
        Client::Codex,
        Client::Gemini,
    ];

    /// The client's name as a person knows it.
    pub fn title(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop",
            Client::ClaudeCode => "Claude Code",
            Client::Vscode => "VS Code",
            Client::Cursor => "Cursor",
            Client::Codex => "Codex",
            Client::Gemini => "Gemini CLI",
        }
    }

    /// The name on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Vscode => "vscode",
            Client::Cursor => "cursor",
            Client::Codex => "codex",
            Client::Gemini => "gemini",
        }
    }

    /// The user-wide file where the client reads its MCP servers, under
    /// `home` and the platform's config directory `config_dir` (XDG on
    /// Linux, Application Support on macOS, %APPDATA% on Windows). Codex
    /// honours `CODEX_HOME`, given as `codex_home`.
    pub fn config_path(self, home: &Path, config_dir: &Path, codex_home: Option<&Path>) -> PathBuf {
        match self {
            Client::ClaudeDesktop => config_dir.join("Claude").join("claude_desktop_config.json"),
            Client::ClaudeCode => home.join(".claude.json"),
            Client::Vscode => config_dir.join("Code").join("User").join("mcp.json"),
            Client::Cursor => home.join(".cursor").join("mcp.json"),
            Client::Codex => {
                codex_home.map_or_else(|| home.join(".codex"), Path::to_path_buf).join("config.toml")
            }
            Client::Gemini => home.join(".gemini").join("settings.json"),
        }
    }

    /// The key of the object that maps server names to servers.
    fn servers_key(self) -> &'static str {
        match self {
            Client::Vscode => "servers",
            Client::Codex => "mcp_servers",
            _ => "mcpServers",
        }
    }

    /// How the client writes a reference to the environment variable `var`
    /// inside a string, so the token itself never enters the file.
    fn env_reference(self, var: &str) -> Result<String> {
        match self {
            Client::ClaudeCode | Client::Gemini => Ok(format!("${{{var}}}")),
            Client::Vscode | Client::Cursor => Ok(format!("${{env:{var}}}")),
            Client::Codex | Client::ClaudeDesktop => bail!("{} takes no variable in a header", self.title()),
        }
    }

    /// The entry as the client's dialect spells it.
    pub fn entry_value(self, entry: &Entry) -> Result<Value> {
        match entry {
            Entry::Stdio { command, args } => {
                let command = command.to_str().context("the moat executable's path is not UTF-8")?;
                Ok(match self {
                    Client::ClaudeCode | Client::Vscode => {
                        json!({"type": "stdio", "command": command, "args": args})
                    }
                    _ => json!({"command": command, "args": args}),
                })
            }
            Entry::Http { url, token_env } => {
                let headers = match token_env {
                    Some(var) if self != Client::Codex && self != Client::ClaudeDesktop => {
                        Some(json!({"Authorization": format!("Bearer {}", self.env_reference(var)?)}))
                    }
                    _ => None,
                };
                let mut value = match self {
                    Client::ClaudeDesktop => bail!(
                        "Claude Desktop's config file holds only servers it starts itself (stdio): add moat over \
                         HTTP in Claude Desktop's Settings → Connectors, or add it without --http"
                    ),
                    Client::ClaudeCode | Client::Vscode => json!({"type": "http", "url": url}),
                    Client::Cursor => json!({"url": url}),
                    Client::Gemini => json!({"httpUrl": url}),
                    Client::Codex => match token_env {
                        Some(var) => json!({"url": url, "bearer_token_env_var": var}),
                        None => json!({"url": url}),
                    },
                };
                if let Some(headers) = headers {
                    value["headers"] = headers;
                }
                Ok(value)
            }
        }
    }

    /// `text` (the file as it is, or `None` when there is none) with the
    /// server `name` set to `entry`. A different entry of that name is
    /// replaced only when `replace` is set.
    pub fn add(self, text: Option<&str>, name: &str, entry: &Entry, replace: bool) -> Result<Change> {
        let value = self.entry_value(entry)?;
        let (after, replaced) = match self {
            Client::Codex => add_toml(text.unwrap_or(""), name, &value, replace)?,
            _ => add_json(text.unwrap_or(""), self.servers_key(), name, &value, replace)?,
        };
        Ok(Change { before: text.map(str::to_owned), after, replaced })
    }

    /// Every server the file `text` names.
    pub fn list(self, text: &str) -> Result<Vec<Listed>> {
        let servers = match self {
            Client::Codex => {
                let table: toml::Table = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
                let servers =
                    table.get(self.servers_key()).cloned().unwrap_or(toml::Value::Table(Default::default()));
                serde_json::to_value(servers)?
            }
            _ => {
                let root: Value = jsonc_parser::parse_to_serde_value(text, &ParseOptions::default())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                root.get(self.servers_key()).cloned().unwrap_or(Value::Null)
            }
        };
        let Value::Object(servers) = servers else { return Ok(Vec::new()) };
        Ok(servers.iter().map(|(name, server)| listed(name, server)).collect())
    }
}

/// One server entry, read leniently (clients differ in their field names).
fn listed(name: &str, server: &Value) -> Listed {
    let text = |key: &str| server.get(key).and_then(Value::as_str);
    if let Some(command) = text("command") {
        let args: Vec<&str> = server
            .get("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let file = Path::new(command).file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let target = std::iter::once(command).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
        return Listed { name: name.to_owned(), transport: "stdio", target, moat: file == "moat" };
    }
    let url = text("url").or_else(|| text("httpUrl")).or_else(|| text("serverUrl")).unwrap_or("");
    Listed { name: name.to_owned(), transport: "http", target: url.to_owned(), moat: false }
}

/// The JSON (or JSONC) file `text` with `servers_key.name` set to `value`.
fn add_json(
    text: &str,
    servers_key: &str,
    name: &str,
    value: &Value,
    replace: bool,
) -> Result<(String, bool)> {
    let text = if text.trim().is_empty() { "{}\n" } else { text };
    let root = CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(object) = root.object_value() else { bail!("the file's top level is not a JSON object") };
    let servers: CstObject = match object.get(servers_key) {
        Some(property) => {
            property.object_value().with_context(|| format!("`{servers_key}` is not a JSON object"))?
        }
        None => object.object_value_or_set(servers_key),
    };
    let mut replaced = false;
    match servers.get(name) {
        Some(existing) => {
            if existing.value().and_then(|v| v.to_serde_value()).as_ref() == Some(value) {
                return Ok((text.to_owned(), false));
            }
            if !replace {
                bail!("`{servers_key}` already has a server named `{name}`, different (--force replaces it)");
            }
            existing.set_value(cst_value(value));
            replaced = true;
        }
        None => {
            servers.append(name, cst_value(value));
        }
    }
    let mut after = root.to_string();
    if !after.ends_with('\n') {
        after.push('\n');
    }
    Ok((after, replaced))
}

/// The TOML file `text` with `[servers.name]` set to `value` (Codex's dialect).
fn add_toml(text: &str, name: &str, value: &Value, replace: bool) -> Result<(String, bool)> {
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let servers = document
        .entry("mcp_servers")
        .or_insert_with(|| {
            let mut table = toml_edit::Table::new();
            table.set_implicit(true);
            toml_edit::Item::Table(table)
        })
        .as_table_like_mut()
        .context("`mcp_servers` is not a table")?;
    let mut table = toml_edit::Table::new();
    for (key, field) in value.as_object().into_iter().flatten() {
        table.insert(key, toml_edit::value(toml_value(field)));
    }
    let existing = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|table| table.get("mcp_servers")?.get(name).cloned())
        .map(serde_json::to_value)
        .transpose()?;
    let replaced = existing.is_some();
    if let Some(existing) = existing {
        if &existing == value {
            return Ok((text.to_owned(), false));
        }
        if !replace {
            bail!("`mcp_servers` already has a server named `{name}`, different (--force replaces it)");
        }
    }
    servers.insert(name, toml_edit::Item::Table(table));
    Ok((document.to_string(), replaced))
}

fn toml_value(value: &Value) -> toml_edit::Value {
    match value {
        Value::String(text) => text.as_str().into(),
        Value::Bool(flag) => (*flag).into(),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => integer.into(),
            None => number.as_f64().unwrap_or_default().into(),
        },
        Value::Array(items) => toml_edit::Value::Array(items.iter().map(toml_value).collect()),
        Value::Object(fields) => {
            let mut table = toml_edit::InlineTable::new();
            for (key, field) in fields {
                table.insert(key, toml_value(field));
            }
            toml_edit::Value::InlineTable(table)
        }
        Value::Null => "".into(),
    }
}

fn cst_value(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(flag) => CstInputValue::Bool(*flag),
        Value::Number(number) => CstInputValue::Number(number.to_string()),
        Value::String(text) => CstInputValue::String(text.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(cst_value).collect()),
        Value::Object(fields) => {
            CstInputValue::Object(fields.iter().map(|(key, field)| (key.clone(), cst_value(field))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdio() -> Entry {
        Entry::Stdio {
            command: "/usr/local/bin/moat".into(),
            args: vec!["serve".into(), "--config".into(), "/home/u/moat.toml".into()],
        }
    }

    fn http() -> Entry {
        Entry::Http { url: "https://moat.example/mcp".into(), token_env: Some("MOAT_TOKEN".into()) }
    }

    #[test]
    fn a_vscode_file_keeps_its_comments_trailing_commas_and_other_servers() {
        let before = "{\n  // my servers\n  \"servers\": {\n    \"github\": {\"type\": \"http\", \"url\": \"https://api.githubcopilot.com/mcp/\"},\n  },\n  \"inputs\": [],\n}\n";
        let change = Client::Vscode.add(Some(before), "moat", &http(), false).unwrap();
        assert!(change.after.contains("// my servers"), "{}", change.after);
        assert!(change.after.contains("\"github\""), "{}", change.after);
        assert!(change.after.contains("\"inputs\": []"), "{}", change.after);
        let listed = Client::Vscode.list(&change.after).unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        let root: Value =
            jsonc_parser::parse_to_serde_value(&change.after, &ParseOptions::default()).unwrap();
        assert_eq!(
            root["servers"]["moat"],
            json!({"type": "http", "url": "https://moat.example/mcp", "headers": {"Authorization": "Bearer ${env:MOAT_TOKEN}"}})
        );
    }

    #[test]
    fn each_client_spells_the_token_its_own_way_and_none_holds_the_token() {
        let header = |client: Client| {
            client
                .entry_value(&http())
                .unwrap()
                .get("headers")
                .map(|h| h["Authorization"].as_str().unwrap().to_owned())
        };
        assert_eq!(header(Client::ClaudeCode).as_deref(), Some("Bearer ${MOAT_TOKEN}"));
        assert_eq!(header(Client::Gemini).as_deref(), Some("Bearer ${MOAT_TOKEN}"));
        assert_eq!(header(Client::Cursor).as_deref(), Some("Bearer ${env:MOAT_TOKEN}"));
        assert_eq!(header(Client::Vscode).as_deref(), Some("Bearer ${env:MOAT_TOKEN}"));
        assert_eq!(header(Client::Codex), None);
        assert_eq!(Client::Codex.entry_value(&http()).unwrap()["bearer_token_env_var"], "MOAT_TOKEN");
        assert_eq!(Client::Gemini.entry_value(&http()).unwrap()["httpUrl"], "https://moat.example/mcp");
        let refused = Client::ClaudeDesktop.entry_value(&http()).unwrap_err().to_string();
        assert!(refused.contains("Connectors"), "{refused}");
    }

    #[test]
    fn adding_the_same_entry_twice_changes_nothing_and_a_different_one_needs_force() {
        for client in Client::ALL {
            let first = client.add(None, "moat", &stdio(), false).unwrap();
            let again = client.add(Some(&first.after), "moat", &stdio(), false).unwrap();
            assert!(again.is_noop(), "{client:?}: {}", again.after);
            let other = Entry::Stdio { command: "/opt/moat".into(), args: vec!["serve".into()] };
            let refused = client.add(Some(&first.after), "moat", &other, false).unwrap_err().to_string();
            assert!(refused.contains("--force"), "{client:?}: {refused}");
            let forced = client.add(Some(&first.after), "moat", &other, true).unwrap();
            assert!(forced.replaced);
            let listed = client.list(&forced.after).unwrap();
            assert_eq!(listed.len(), 1, "{client:?}: {listed:?}");
            assert_eq!(listed[0].target, "/opt/moat serve");
            assert!(listed[0].moat);
        }
    }

    #[test]
    fn codex_toml_keeps_the_users_settings_and_comments() {
        let before = "# my settings\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"npx\"\nargs = [\"-y\", \"docs\"]\n";
        let change = Client::Codex.add(Some(before), "moat", &http(), false).unwrap();
        assert!(change.after.starts_with("# my settings\nmodel = \"o3\"\n"), "{}", change.after);
        let table: toml::Table = toml::from_str(&change.after).unwrap();
        assert_eq!(table["mcp_servers"]["docs"]["command"].as_str(), Some("npx"));
        assert_eq!(table["mcp_servers"]["moat"]["url"].as_str(), Some("https://moat.example/mcp"));
        assert_eq!(table["mcp_servers"]["moat"]["bearer_token_env_var"].as_str(), Some("MOAT_TOKEN"));
    }

    #[test]
    fn a_file_that_is_not_json_is_refused_and_named() {
        let error = Client::Cursor.add(Some("{\"mcpServers\": [}"), "moat", &stdio(), false).unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
        let error = Client::Cursor.add(Some("[1, 2]"), "moat", &stdio(), false).unwrap_err();
        assert!(error.to_string().contains("not a JSON object"), "{error}");
        let error = Client::Cursor.add(Some("{\"mcpServers\": 3}"), "moat", &stdio(), false).unwrap_err();
        assert!(error.to_string().contains("`mcpServers` is not a JSON object"), "{error}");
    }
}

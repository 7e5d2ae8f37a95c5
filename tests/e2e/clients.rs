//! `moat client add` and `moat client list`, each client's file written into
//! a temporary HOME and read back by the client itself where it can be
//! installed from a registry: Claude Code, Gemini CLI and Codex (npm, pinned
//! in tests/clients, installed by `make test`). Claude Code's and Gemini's
//! `mcp list` start or connect to every server they list, so they prove the
//! entry works: moat over stdio, and over HTTP with the bearer token taken
//! from the environment (a wrong token is refused). VS Code, Cursor and
//! Claude Desktop are not in any registry this project reaches: their files
//! are read back by their documented format, and the command in the entry
//! is started and listed by an rmcp client.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::Value;

use crate::http::{ALICE, HttpMoat};
use crate::support::{MOAT, examples_config, repo_root, stderr_of, stdout_of};

/// A temporary HOME with nothing of the machine's user in it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let home = Home { dir: tempfile::tempdir().unwrap() };
        // Gemini CLI starts no server of an untrusted folder.
        std::fs::create_dir_all(home.path().join(".gemini")).unwrap();
        let trusted = serde_json::json!({ home.path().to_str().unwrap(): "TRUST_FOLDER" });
        std::fs::write(home.path().join(".gemini/trustedFolders.json"), trusted.to_string()).unwrap();
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command run with this HOME as its home and working directory.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.path())
            .env("HOME", self.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CODEX_HOME")
            .env_remove("MOAT_CONFIG")
            .env("NO_COLOR", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
        command
    }

    fn moat(&self, args: &[&str]) -> Output {
        self.command(MOAT).args(args).output().expect("run moat")
    }

    fn add(&self, args: &[&str]) -> String {
        let output = self.moat(&[&["client", "add"], args].concat());
        assert!(output.status.success(), "moat client add {args:?}: {}", stderr_of(&output));
        stdout_of(&output)
    }

    /// An installed client's own command (`claude`, `gemini`, `codex`) with `args`.
    fn client(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let output = self.client_output(name, args, env);
        format!("{}{}", stdout_of(&output), stderr_of(&output))
    }

    fn client_output(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let program = clients().join("node_modules/.bin").join(name);
        assert!(program.exists(), "run `make test` (or `npm ci` in tests/clients) to install {name}");
        self.command(program).args(args).envs(env.iter().copied()).output().expect("run the client")
    }

    /// Codex's own reading of the entry `name` (`codex mcp get NAME --json`).
    fn codex_entry(&self, name: &str) -> Value {
        let output = self.client_output("codex", &["mcp", "get", name, "--json"], &[]);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("codex printed no JSON ({e}): {}{}", stdout_of(&output), stderr_of(&output))
        })
    }

    fn read_json(&self, relative: &str) -> Value {
        let text = std::fs::read_to_string(self.path().join(relative)).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative} is not JSON ({e}):\n{text}"))
    }
}

fn clients() -> PathBuf {
    repo_root().join("tests/clients")
}

/// The line of a client's `mcp list` that names the server `name`.
fn line_of<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|line| line.contains(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("`{name}` is not listed:\n{listing}"))
}

fn examples_text_config() -> (tempfile::TempDir, PathBuf) {
    examples_config(&["text"])
}

#[test]
fn claude_code_and_gemini_start_moat_over_stdio_from_the_entry_moat_wrote() {
    let home = Home::new();
    let (_dir, config) = examples_text_config();
    let config = config.to_str().unwrap();
    home.add(&["claude-code", "--config", config]);
    home.add(&["gemini", "--config", config]);

    let listing = home.client("claude", &["mcp", "list"], &[]);
    assert!(line_of(&listing, "moat").contains("Connected"), "{listing}");
    assert!(!line_of(&listing, "moat").contains("Failed"), "{listing}");
    let listing = home.client("gemini", &["mcp", "list"], &[]);
    assert!(line_of(&listing, "moat").contains("- Connected"), "{listing}");

    // The entry names moat and the config by absolute paths, so the client
    // can start it from any directory.
    let entry = &home.read_json(".claude.json")["mcpServers"]["moat"];
    assert_eq!(entry["type"], "stdio");
    assert!(Path::new(entry["command"].as_str().unwrap()).is_absolute(), "{entry}");
    assert_eq!(entry["args"][2].as_str().unwrap(), std::fs::canonicalize(config).unwrap().to_str().unwrap());
}

#[tokio::test]
async fn claude_code_and_gemini_connect_over_http_with_the_token_from_the_environment_only() {
    let moat = HttpMoat::start("").await;
    let home = Home::new();
    let url = moat.url();
    for client in ["claude-code", "gemini", "codex"] {
        home.add(&[client, "--name", "moat-http", "--http", &url, "--token-env", "MOAT_TOKEN"]);
    }
    // The token is in no file the clients read.
    for file in [".claude.json", ".gemini/settings.json", ".codex/config.toml"] {
        let text = std::fs::read_to_string(home.path().join(file)).unwrap();
        assert!(!text.contains(ALICE), "{file} holds the token:\n{text}");
        assert!(text.contains("MOAT_TOKEN"), "{file} does not name the variable:\n{text}");
    }
    for (client, connected) in [("claude", "✔ Connected"), ("gemini", "- Connected")] {
        let listing = home.client(client, &["mcp", "list"], &[("MOAT_TOKEN", ALICE)]);
        assert!(line_of(&listing, "moat-http").contains(connected), "{client}:\n{listing}");
        let refused = home.client(client, &["mcp", "list"], &[("MOAT_TOKEN", "moat_not-a-token")]);
        assert!(!line_of(&refused, "moat-http").contains(connected), "{client}:\n{refused}");
    }
    // Codex connects only in a session with a model; its own reading of the
    // entry is checked.
    let entry = home.codex_entry("moat-http");
    assert_eq!(entry["transport"]["type"], "streamable_http", "{entry}");
    assert_eq!(entry["transport"]["url"], url.as_str());
    assert_eq!(entry["transport"]["bearer_token_env_var"], "MOAT_TOKEN");
}

#[test]
fn codex_reads_the_stdio_entry_and_keeps_the_users_own_settings() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join(".codex")).unwrap();
    let mine = "# mine\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"npx\"\nargs = [\"-y\", \"docs\"]\n";
    std::fs::write(home.path().join(".codex/config.toml"), mine).unwrap();
    let (_dir, config) = examples_text_config();
    let said = home.add(&["codex", "--config", config.to_str().unwrap()]);
    let backup = said.lines().find_map(|l| l.trim().strip_prefix("the file as it was: ")).expect(&said);
    assert_eq!(std::fs::read_to_string(backup).unwrap(), mine, "the backup is the file as it was");

    let entry = home.codex_entry("moat");
    assert_eq!(entry["transport"]["type"], "stdio", "{entry}");
    assert_eq!(entry["transport"]["args"][0], "serve");
    let listing = home.client("codex", &["mcp", "list"], &[]);
    assert!(listing.lines().any(|l| l.starts_with("docs ")), "{listing}");
    let text = std::fs::read_to_string(home.path().join(".codex/config.toml")).unwrap();
    assert!(text.starts_with("# mine\nmodel = \"o3\"\n"), "{text}");
}

/// Starts the stdio entry's command as a client would and lists its tools.
async fn tools_of_entry(entry: &Value) -> Vec<String> {
    let mut command = tokio::process::Command::new(entry["command"].as_str().expect("a command"));
    command.args(entry["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()));
    let client =
        ().serve(TokioChildProcess::new(command).unwrap()).await.expect("the entry starts an MCP server");
    let tools = client.list_all_tools().await.unwrap();
    client.cancel().await.unwrap();
    tools.into_iter().map(|t| t.name.to_string()).collect()
}

#[tokio::test]
async fn vscode_cursor_and_claude_desktop_entries_follow_their_formats_and_start_moat() {
    let home = Home::new();
    let (_dir, config) = examples_text_config();
    let config = config.to_str().unwrap();
    // A VS Code file with a comment, a trailing comma and an input of the user's.
    let vscode = ".config/Code/User/mcp.json";
    std::fs::create_dir_all(home.path().join(".config/Code/User")).unwrap();
    std::fs::write(
        home.path().join(vscode),
        "{\n  // mine\n  \"servers\": {\"gh\": {\"type\": \"http\", \"url\": \"https://example.com/mcp\"},},\n  \"inputs\": [],\n}\n",
    )
    .unwrap();
    for client in ["vscode", "cursor", "claude-desktop"] {
        home.add(&[client, "--config", config]);
    }
    let text = std::fs::read_to_string(home.path().join(vscode)).unwrap();
    assert!(text.contains("// mine") && text.contains("\"gh\""), "{text}");
    let vscode: Value = jsonc_parser::parse_to_serde_value(&text, &Default::default()).unwrap();
    let vscode = &vscode["servers"]["moat"];
    assert_eq!(vscode["type"], "stdio", "VS Code's entries carry their type: {vscode}");
    let cursor = &home.read_json(".cursor/mcp.json")["mcpServers"]["moat"];
    let desktop = &home.read_json(".config/Claude/claude_desktop_config.json")["mcpServers"]["moat"];
    for entry in [vscode, cursor, desktop] {
        let tools = tools_of_entry(entry).await;
        assert!(tools.iter().any(|t| t.starts_with("text.")), "{entry}: {tools:?}");
    }
}

#[test]
fn list_marks_moat_and_add_refuses_what_it_cannot_write_without_a_trace() {
    let home = Home::new();
    let (_dir, config) = examples_text_config();
    let config = config.to_str().unwrap();
    home.add(&["cursor", "--config", config]);
    home.add(&["cursor", "--name", "remote", "--http", "https://moat.example/mcp"]);

    let output = home.moat(&["client", "list", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let cursor = listed["clients"].as_array().unwrap().iter().find(|c| c["client"] == "cursor").unwrap();
    let servers = cursor["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{cursor}");
    assert_eq!(servers[0]["moat"], true, "{cursor}");
    assert_eq!(servers[1]["transport"], "http", "{cursor}");

    // --dry-run shows the change and writes nothing.
    let before = std::fs::read_to_string(home.path().join(".cursor/mcp.json")).unwrap();
    let output = home.moat(&["client", "add", "cursor", "--name", "second", "--config", config, "--dry-run"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("+    \"second\": {"), "{}", stdout_of(&output));
    assert_eq!(std::fs::read_to_string(home.path().join(".cursor/mcp.json")).unwrap(), before);

    // A different entry of the same name, a broken file, a remote server
    // for Claude Desktop, a broken moat config: refused, the file untouched.
    let refused = [
        home.moat(&["client", "add", "cursor", "--http", "https://other.example/mcp"]),
        home.moat(&["client", "add", "claude-desktop", "--http", "https://moat.example/mcp"]),
        home.moat(&["client", "add", "cursor", "--name", "x", "--config", "/nonexistent/moat.toml"]),
        home.moat(&[
            "client",
            "add",
            "codex",
            "--http",
            "https://moat.example/mcp",
            "--token-env",
            "NOT A VAR",
        ]),
    ];
    for output in &refused {
        assert!(!output.status.success());
        assert!(stderr_of(output).starts_with("error: "), "{}", stderr_of(output));
    }
    assert!(stderr_of(&refused[0]).contains("--force"), "{}", stderr_of(&refused[0]));
    assert!(stderr_of(&refused[1]).contains("Connectors"), "{}", stderr_of(&refused[1]));
    assert_eq!(std::fs::read_to_string(home.path().join(".cursor/mcp.json")).unwrap(), before);
    assert!(!home.path().join(".config/Claude").exists());

    std::fs::write(home.path().join(".gemini/settings.json"), "{\"mcpServers\": {\n  \"a\": [}").unwrap();
    let output = home.moat(&["client", "add", "gemini", "--config", config]);
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("settings.json") && stderr_of(&output).contains("line 2"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn serve_finds_its_config_in_the_working_directory_then_in_the_users_config_directory() {
    let home = Home::new();
    // Nowhere: a clear error naming where moat looked.
    let output = home.moat(&["serve"]);
    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("no config"), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains(".config/moat/moat.toml"), "{}", stderr_of(&output));

    // In the user's config directory: `moat call` (the same discovery) uses it.
    let (_dir, config) = examples_text_config();
    std::fs::create_dir_all(home.path().join(".config/moat")).unwrap();
    std::fs::copy(&config, home.path().join(".config/moat/moat.toml")).unwrap();
    let output = home.moat(&["call", "text.word-count", r#"{"text": "one two three"}"#]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains('3'), "{}", stdout_of(&output));

    // ./moat.toml comes first: one that names no such component is used.
    std::fs::write(home.path().join("moat.toml"), "").unwrap();
    let output = home.moat(&["call", "text.word-count", r#"{"text": "one"}"#]);
    assert!(!output.status.success(), "{}", stdout_of(&output));

    // MOAT_CONFIG comes before both.
    let output = home
        .command(MOAT)
        .args(["call", "text.word-count", r#"{"text": "a b"}"#])
        .env("MOAT_CONFIG", &config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
}

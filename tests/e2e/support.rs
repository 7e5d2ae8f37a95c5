//! Shared test machinery: the example components (built and packed once per
//! run), the real `moat` binary started with a config, and rmcp's client.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

pub const MOAT: &str = env!("CARGO_BIN_EXE_moat");

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_path_buf()
}

/// `guest-examples/dist`, after building and packing every example once.
pub fn examples() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| built("guest-examples")).clone().unwrap_or_else(|e| panic!("{e}"))
}

/// `catalog/dist`, after building and packing the catalog's components once.
pub fn catalog() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| built("catalog")).clone().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `FOLDER/build.sh` with this moat, and gives `FOLDER/dist`.
fn built(folder: &str) -> Result<PathBuf, String> {
    let root = repo_root();
    let output = std::process::Command::new("bash")
        .arg(root.join(folder).join("build.sh"))
        .env("MOAT", MOAT)
        .output()
        .map_err(|e| format!("cannot run {folder}/build.sh: {e}"))?;
    if !output.status.success() {
        return Err(format!("{folder}/build.sh failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(root.join(folder).join("dist"))
}

/// `moat serve ARGS` with piped stdio and no client: for tests that must see
/// the raw bytes on stdout. The initialize handshake is already written.
pub fn raw_serve(args: &[&std::ffi::OsStr]) -> (std::process::Child, std::process::ChildStdin) {
    let mut child = std::process::Command::new(MOAT)
        .arg("serve")
        .args(args)
        .arg("--cache-dir")
        .arg(shared_cache())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn moat");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    for message in [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ] {
        writeln_message(&mut stdin, &message);
    }
    (child, stdin)
}

/// Writes one JSON-RPC message as a line.
pub fn writeln_message(stdin: &mut std::process::ChildStdin, message: &Value) {
    use std::io::Write;
    writeln!(stdin, "{message}").expect("write to moat's stdin");
}

pub fn example(name: &str) -> PathBuf {
    examples().join(format!("{name}.wasm"))
}

/// One run of the `moat` binary to its end, its log at `warn` (errors and
/// warnings, no per-call lines), and what it wrote.
pub fn moat<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    std::process::Command::new(MOAT).args(args).env("RUST_LOG", "warn").output().expect("run moat")
}

/// A finished run's stdout, as text.
pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A finished run's stderr, as text.
pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The interfaces `moat inspect --json` says `component` imports.
pub fn imports_of(component: &Path) -> Vec<String> {
    let output = std::process::Command::new(MOAT)
        .args(["--log", "warn", "inspect", "--json"])
        .arg(component)
        .output()
        .expect("run moat inspect");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("inspect prints JSON");
    serde_json::from_value(report["imports"].clone()).expect("imports are a list of names")
}

/// A compile cache shared by the tests of one run (each test binary run).
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("moat-e2e-cache")
}

/// `moat serve --config CONFIG --cache-dir CACHE ARGS` (RUST_LOG=info, then
/// `env`) as an rmcp child-process transport, with its stderr collected line
/// by line.
pub fn serve_process(
    config: &Path,
    cache: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (TokioChildProcess, Arc<Mutex<String>>) {
    let mut command = tokio::process::Command::new(MOAT);
    command
        .args(["serve", "--config"])
        .arg(config)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied());
    let (transport, stderr) =
        TokioChildProcess::builder(command).stderr(Stdio::piped()).spawn().expect("spawn moat");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let stderr = stderr.expect("stderr is piped");
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    (transport, log)
}

/// Writes `config` (TOML; `{dist}` stands for the examples directory) as
/// `moat.toml` in a new temporary directory.
pub fn config_dir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let dist = examples();
    std::fs::write(dir.path().join("moat.toml"), config.replace("{dist}", dist.to_str().unwrap())).unwrap();
    dir
}

/// A running `moat serve` and an rmcp client connected to it.
pub struct Moat {
    pub client: RunningService<RoleClient, ClientConfig>,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

/// How the client starts its session.
#[derive(Clone)]
pub enum Lifecycle {
    /// `initialize` proposing this version.
    Initialize(ProtocolVersion),
    /// 2026-07-28: `server/discover`, per-request metadata, no initialize.
    Discover,
}

impl Moat {
    /// Serves `config` (TOML; `{dist}` stands for the examples directory).
    pub async fn start(config: &str) -> Moat {
        Self::start_with(config, Lifecycle::Initialize(ProtocolVersion::V_2025_11_25), &shared_cache()).await
    }

    /// Serves `config` with extra environment variables on the moat process.
    pub async fn start_with_env(config: &str, env: &[(&str, &str)]) -> Moat {
        let lifecycle = Lifecycle::Initialize(ProtocolVersion::V_2025_11_25);
        Self::launch(config, lifecycle, &shared_cache(), env).await
    }

    pub async fn start_with(config: &str, lifecycle: Lifecycle, cache: &Path) -> Moat {
        Self::launch(config, lifecycle, cache, &[]).await
    }

    /// Like [`Moat::start_with`], with `RUST_LOG` set to `filter`.
    pub async fn start_with_log(config: &str, lifecycle: Lifecycle, cache: &Path, filter: &str) -> Moat {
        Self::launch(config, lifecycle, cache, &[("RUST_LOG", filter)]).await
    }

    async fn launch(config: &str, lifecycle: Lifecycle, cache: &Path, env: &[(&str, &str)]) -> Moat {
        Self::spawn(config_dir(config), lifecycle, cache, env, &[]).await
    }

    /// Serves `dir/moat.toml` (with whatever else the test put in `dir`, such
    /// as a lock file) with extra `serve` arguments.
    pub async fn serve_dir(dir: tempfile::TempDir, args: &[&str]) -> Moat {
        let lifecycle = Lifecycle::Initialize(ProtocolVersion::V_2025_11_25);
        Self::spawn(dir, lifecycle, &shared_cache(), &[], args).await
    }

    async fn spawn(
        dir: tempfile::TempDir,
        lifecycle: Lifecycle,
        cache: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Moat {
        let (transport, log) = serve_process(&dir.path().join("moat.toml"), cache, env, args);
        let mut info = ClientConfig::default();
        let client = match lifecycle {
            Lifecycle::Initialize(version) => {
                info.protocol_version = version;
                info.serve(transport).await
            }
            Lifecycle::Discover => {
                let mode =
                    ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
                info.serve_with_lifecycle(transport, mode).await
            }
        };
        let client = client.unwrap_or_else(|e| {
            panic!("MCP session did not start: {e}\nmoat stderr:\n{}", log.lock().unwrap())
        });
        let moat = Moat { client, stderr: log, _dir: dir };
        // moat's log is written by a thread of its own, in order: once this
        // line is in, so is everything logged while loading (refusals,
        // warnings, signatures), and tests may read it at once.
        assert!(
            moat.wait_for_log("serving MCP on stdio").await,
            "moat did not log that it serves:\n{}",
            moat.stderr()
        );
        moat
    }

    /// Calls a tool; JSON-RPC errors panic (tool errors are results).
    pub async fn call(&self, tool: &str, arguments: Value) -> CallToolResult {
        self.try_call(tool, arguments).await.unwrap_or_else(|e| panic!("{tool}: {e}"))
    }

    pub async fn try_call(&self, tool: &str, arguments: Value) -> Result<CallToolResult, rmcp::ServiceError> {
        let Value::Object(arguments) = arguments else { panic!("arguments must be an object") };
        self.client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments)).await
    }

    /// Runs `moat serve` on `dir/moat.toml` with stdin closed: whether it got
    /// as far as serving, and its log.
    pub async fn serve_dir_or_fail(dir: tempfile::TempDir, args: &[&str]) -> (bool, String) {
        let output = tokio::process::Command::new(MOAT)
            .args(["serve", "--config"])
            .arg(dir.path().join("moat.toml"))
            .arg("--cache-dir")
            .arg(shared_cache())
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run moat serve");
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        (log.contains("serving MCP on stdio"), log)
    }

    /// The names of the tools served.
    pub async fn tool_names(&self) -> Vec<String> {
        let tools = self.client.list_all_tools().await.expect("tools/list");
        tools.into_iter().map(|t| t.name.to_string()).collect()
    }

    /// Everything moat wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until stderr contains `needle`.
    pub async fn wait_for_log(&self, needle: &str) -> bool {
        self.wait_until(|log| log.contains(needle)).await.contains(needle)
    }

    /// How many of the `calls` calls of `tool` made so far the log says ran
    /// in a spare instance, once the log has a line for each (up to 10 s).
    pub async fn calls_in_spares(&self, tool: &str, calls: usize) -> usize {
        let tool = format!(r#"tool="{tool}""#);
        let lines = |log: &str| -> Vec<String> {
            log.lines()
                .filter(|l| l.contains("moat::host: call ") && l.contains(&tool))
                .map(String::from)
                .collect()
        };
        let log = self.wait_until(|log| lines(log).len() >= calls).await;
        lines(&log).iter().filter(|l| l.contains(r#"instance="spare""#)).count()
    }

    /// The log once `done` holds for it, or after 10 s.
    async fn wait_until(&self, done: impl Fn(&str) -> bool) -> String {
        for _ in 0..200 {
            let log = self.stderr();
            if done(&log) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stderr()
    }

    /// The log once nothing was added to it for 200 ms (up to 10 s): for
    /// asserting what it must not contain after the requests that could have
    /// put it there, since moat's log is written by a thread of its own.
    pub async fn settled_log(&self) -> String {
        settled(&self.stderr).await
    }

    pub async fn stop(self) {
        self.client.cancel().await.ok();
    }
}

/// `log` once nothing was added to it for 200 ms (up to 10 s).
pub async fn settled(log: &Mutex<String>) -> String {
    let mut seen = log.lock().unwrap().len();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = log.lock().unwrap().len();
        if now == seen {
            break;
        }
        seen = now;
    }
    log.lock().unwrap().clone()
}

/// `moat pack RAW --wit WIT -o OUT`, which must succeed.
pub fn pack(raw: &Path, wit: &Path, out: &Path) {
    let output = moat(&[
        "pack".as_ref(),
        raw.as_os_str(),
        "--wit".as_ref(),
        wit.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(output.status.success(), "pack failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// A config file serving the examples `components` under their own names,
/// with the shared compile cache, in a new temporary directory.
pub fn examples_config(components: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let dist = examples();
    let mut text = format!("[server]\ncache_dir = {:?}\n", shared_cache());
    for name in components {
        text.push_str(&format!("[components.{name}]\npath = {:?}\n", dist.join(format!("{name}.wasm"))));
    }
    std::fs::write(&config, text).unwrap();
    (dir, config)
}

/// Runs an official SDK's client script (`program script`), which drives
/// `moat serve --config config` (MOAT_BIN, MOAT_CONFIG), and asserts it
/// passed every check (`LABEL: all checks passed` on stdout).
pub fn run_client_script(program: &std::ffi::OsStr, script: &Path, config: &Path, label: &str) {
    let output = std::process::Command::new(program)
        .arg(script)
        .env("MOAT_BIN", MOAT)
        .env("MOAT_CONFIG", config)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.to_string_lossy()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(&format!("{label}: all checks passed")),
        "{label} failed:\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The text of a result's first content block.
pub fn text(result: &CallToolResult) -> String {
    result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap_or_default()
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

/// The config serving the useful examples and the kitchen sink.
pub const USEFUL: &str = r#"
[components.text]
path = "{dist}/text.wasm"
[components.json]
path = "{dist}/json-query.wasm"
[components.datetime]
path = "{dist}/datetime.wasm"
[components.hash]
path = "{dist}/hash.wasm"
[components.units]
path = "{dist}/units.wasm"
[components.kitchen-sink]
path = "{dist}/kitchen-sink.wasm"
"#;

/// Writes a self-signed P-256 certificate for 127.0.0.1 and localhost, and
/// its key, with openssl (Debian's, installed by `make deps`).
pub fn self_signed_certificate(cert: &Path, key: &Path) {
    let openssl = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout"])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("openssl is installed");
    assert!(openssl.status.success(), "{}", String::from_utf8_lossy(&openssl.stderr));
}

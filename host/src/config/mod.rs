//! The user-owned configuration file (`moat.toml`): which components to serve,
//! under which names, with which limits and grants ([`crate::policy`]).
//!
//! Strict by design: unknown keys, bad names, missing files and impossible
//! limits are errors that name the file and the key, never silent defaults.
//! Relative paths are resolved against the config file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use std::sync::Arc;

pub mod http;

use crate::findings::Severity;
use crate::limits::{DEFAULT_MAX_CONCURRENT_CALLS, EngineOptions, Limits, LimitsOverride};
use crate::lock::LockFile;
use crate::policy::secrets::SecretSource;
use crate::policy::{Policy, RawGrants};
use crate::scan::{ScanAction, ScanSettings};
use crate::signing::TrustedKey;
use crate::telemetry::TelemetrySettings;
pub use http::DEFAULT_RATE_PER_MINUTE;
use http::{HttpOptions, RawHttp};

/// The config file's name, in the working directory and in the user's
/// config directory.
pub const CONFIG_FILE: &str = "moat.toml";

/// The config a command uses when none is named on its command line (nor by
/// `MOAT_CONFIG`, which clap reads into the flag): `./moat.toml`, else the
/// user's `moat/moat.toml` ([`user_config_path`]), whichever exists first.
pub fn discover() -> Option<PathBuf> {
    let here = PathBuf::from(CONFIG_FILE);
    if here.is_file() {
        return Some(here);
    }
    user_config_path().filter(|path| path.is_file())
}

/// `$XDG_CONFIG_HOME/moat/moat.toml`, else `~/.config/moat/moat.toml` (on
/// Windows, `%APPDATA%\moat\moat.toml`).
pub fn user_config_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None if cfg!(windows) => dirs::config_dir()?,
        None => dirs::home_dir()?.join(".config"),
    };
    Some(base.join("moat").join(CONFIG_FILE))
}

/// The config named on the command line, else the one [`discover`] finds,
/// else an error that says where moat looked.
pub fn named_or_discovered(named: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = named {
        return Ok(path.to_path_buf());
    }
    discover().with_context(|| {
        let user = user_config_path().map(|p| format!(", {}", p.display())).unwrap_or_default();
        format!("no config: give --config FILE or MOAT_CONFIG, or create ./{CONFIG_FILE}{user}")
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    limits: LimitsOverride,
    #[serde(default)]
    components: BTreeMap<String, RawComponent>,
    #[serde(default)]
    trust: RawTrust,
    #[serde(default)]
    vet: RawVet,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    scan: RawScan,
    #[serde(default)]
    confirm: RawConfirm,
    telemetry: Option<RawTelemetry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    /// The collector's OTLP/HTTP base URL.
    otlp: String,
    service_name: Option<String>,
    #[serde(default, with = "humantime_serde")]
    metrics_interval: Option<std::time::Duration>,
}

/// `[telemetry]`, checked: an http or https base URL (ending in `/`, so
/// that the signals' paths go below it), a name, an interval of at least a second.
fn telemetry(raw: RawTelemetry) -> Result<TelemetrySettings> {
    let mut otlp = url::Url::parse(&raw.otlp)
        .map_err(|e| anyhow::anyhow!("[telemetry] otlp = {:?}: not a URL ({e})", raw.otlp))?;
    if !matches!(otlp.scheme(), "http" | "https") || otlp.host().is_none() {
        bail!(
            "[telemetry] otlp = {:?}: expected an http or https URL such as http://127.0.0.1:4318",
            raw.otlp
        );
    }
    if !otlp.path().ends_with('/') {
        otlp.set_path(&format!("{}/", otlp.path()));
    }
    let metrics_interval = raw.metrics_interval.unwrap_or(crate::telemetry::DEFAULT_METRICS_INTERVAL);
    if metrics_interval < std::time::Duration::from_secs(1) {
        bail!("[telemetry] metrics_interval must be at least 1s");
    }
    let service_name = raw.service_name.unwrap_or_else(|| "moat".into());
    if service_name.trim().is_empty() {
        bail!("[telemetry] service_name must not be empty");
    }
    Ok(TelemetrySettings { otlp, service_name, metrics_interval })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfirm {
    /// Tool name patterns (`notes.delete-*`, `*`) that need the user's confirmation.
    #[serde(default)]
    tools: Vec<String>,
    /// Every tool annotated `@destructive` needs it too.
    #[serde(default)]
    destructive: bool,
    /// What a call that needs confirmation does when the client cannot ask.
    #[serde(default)]
    unsupported: Unconfirmable,
}

/// What a call that needs confirmation does when the client cannot ask the
/// user (no elicitation capability, or a protocol version that forbids the
/// host's request).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unconfirmable {
    /// It is refused, with why (the default).
    #[default]
    Refuse,
    /// It runs unconfirmed, and the log says so.
    Allow,
}

/// `[confirm]`: the calls the user must confirm before they run, asked by
/// moat itself, in moat's words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    pub tools: Vec<String>,
    pub destructive: bool,
    pub unsupported: Unconfirmable,
}

impl Confirmation {
    /// Whether a call of `tool` (with its `destructiveHint`) needs confirmation.
    pub fn needed(&self, tool: &str, destructive: Option<bool>) -> bool {
        (self.destructive && destructive == Some(true))
            || self.tools.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => tool.starts_with(prefix),
                None => pattern == tool,
            })
    }
}
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    output: Option<ScanAction>,
    flag_at: Option<Severity>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    /// The audit log file (JSON lines, hash-chained).
    path: Option<PathBuf>,
    /// Flush every line to disk before its call returns.
    #[serde(default)]
    fsync: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    /// Public keys (PEM) whose signatures are trusted.
    #[serde(default)]
    keys: Vec<PathBuf>,
    #[serde(default)]
    require_signature: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVet {
    /// `low`, `medium`, `high`, `critical` or `never`.
    refuse_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    max_concurrent_calls: Option<u32>,
    cache_dir: Option<PathBuf>,
    cache_max_size: Option<bytesize::ByteSize>,
    #[serde(default, with = "humantime_serde")]
    drain_timeout: Option<std::time::Duration>,
    #[serde(default, with = "humantime_serde")]
    compile_wait: Option<std::time::Duration>,
    metrics: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    path: PathBuf,
    /// Where it was pulled from (`oci://host/repo@sha256:...`); written by `moat add`.
    source: Option<String>,
    /// Tool names of its own for some functions (`func` or `interface#func` → name).
    #[serde(default)]
    names: BTreeMap<String, String>,
    #[serde(default)]
    limits: LimitsOverride,
    #[serde(default)]
    grants: RawGrants,
    #[serde(default)]
    secrets: BTreeMap<String, SecretSource>,
    /// This component's output scanning, instead of `[scan] output`.
    scan: Option<ScanAction>,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Calls running at once across the whole host.
    pub max_concurrent_calls: u32,
    /// Where compiled components are cached; `None` means the user cache directory.
    pub cache_dir: Option<PathBuf>,
    /// How much disk the compile cache keeps to (least recently used first out).
    pub cache_max_size: u64,
    /// How long a stopping moat (SIGTERM, SIGINT) waits for what is in flight.
    pub drain_timeout: std::time::Duration,
    /// How long a call waits for its component to be compiled and linked
    /// after start-up before it fails.
    pub compile_wait: std::time::Duration,
    /// Where Prometheus reads `/metrics`, if anywhere.
    pub metrics_bind: Option<std::net::SocketAddr>,
    /// Limits for components that set none of their own.
    pub default_limits: Limits,
    /// Components in name order.
    pub components: Vec<ComponentSpec>,
    /// Fuel and epoch interruption; always on from a config file (see
    /// [`EngineOptions`]), only a program using the library can change them.
    pub engine: EngineOptions,
    /// What a component must pass before it is served.
    pub gates: LoadGates,
    /// Where every call is recorded ([`crate::audit`]); `None`: nowhere.
    pub audit_path: Option<PathBuf>,
    /// Each audit line is on disk (fsync) before its call returns.
    pub audit_fsync: bool,
    /// `moat serve --http` settings.
    pub http: HttpOptions,
    /// Output scanning for components that set none of their own.
    pub scan: ScanSettings,
    pub confirm: Confirmation,
    /// Where traces and metrics are exported over OTLP, if anywhere.
    pub telemetry: Option<TelemetrySettings>,
}

/// The checks a component passes before it is served, in this order:
/// signature, lock, vet (with every other component's tools in view).
#[derive(Debug, Clone)]
pub struct LoadGates {
    /// Keys whose signatures are trusted.
    pub trusted_keys: Vec<TrustedKey>,
    /// Refuse components without a valid signature from a trusted key.
    pub require_signature: bool,
    /// The approved state; `None` when there is no lock file.
    pub lock: Option<LockFile>,
    /// Vet findings at or above this refuse a component (`None`: only warn).
    pub vet_refuse_at: Option<Severity>,
}

impl Default for LoadGates {
    fn default() -> Self {
        LoadGates {
            trusted_keys: Vec::new(),
            require_signature: false,
            lock: None,
            vet_refuse_at: Some(DEFAULT_VET_REFUSE_AT),
        }
    }
}

/// How long a stopping moat waits for calls and requests in flight, unless
/// `[server] drain_timeout` says otherwise.
pub const DEFAULT_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a call waits for its component to be compiled after start-up,
/// unless `[server] compile_wait` says otherwise.
pub const DEFAULT_COMPILE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Vet findings this severe refuse a component at load unless the config says otherwise.
pub const DEFAULT_VET_REFUSE_AT: Severity = Severity::High;

/// Parses `[vet] refuse_at`.
fn parse_refuse_at(text: &str) -> Result<Option<Severity>> {
    Ok(match text {
        "never" => None,
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        "critical" => Some(Severity::Critical),
        other => bail!("[vet] refuse_at = {other:?}: expected low, medium, high, critical or never"),
    })
}

/// One component to serve.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    /// The namespace of its tools (`NAME.function`).
    pub name: String,
    pub path: PathBuf,
    /// Where it was pulled from, if it was (`oci://...@sha256:...`).
    pub source: Option<String>,
    /// Function → tool name, for functions not served as `NAME.function`.
    pub names: BTreeMap<String, String>,
    pub limits: Limits,
    /// What it may reach; empty (nothing) unless the config grants something.
    pub policy: Arc<Policy>,
    /// How its output is scanned ([`crate::scan`]).
    pub scan: ScanSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            cache_dir: None,
            cache_max_size: crate::store::DEFAULT_CACHE_BUDGET,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            compile_wait: DEFAULT_COMPILE_WAIT,
            metrics_bind: None,
            default_limits: Limits::default(),
            components: Vec::new(),
            engine: EngineOptions::default(),
            gates: LoadGates::default(),
            audit_path: None,
            audit_fsync: false,
            http: HttpOptions::default(),
            scan: ScanSettings::default(),
            confirm: Confirmation::default(),
            telemetry: None,
        }
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// Parses config text; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text)?;
        let default_limits = Limits::default().with(&raw.limits);
        default_limits.validate().map_err(|e| anyhow::anyhow!("[limits]: {e}"))?;
        let max_concurrent_calls = raw.server.max_concurrent_calls.unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS);
        if max_concurrent_calls == 0 {
            bail!("[server] max_concurrent_calls must be greater than zero");
        }
        let defaults = ScanSettings::default();
        let scan = ScanSettings {
            action: raw.scan.output.unwrap_or(defaults.action),
            flag_at: raw.scan.flag_at.unwrap_or(defaults.flag_at),
        };
        let mut components = Vec::new();
        for (name, component) in raw.components {
            validate_component_name(&name).with_context(|| format!("[components.{name}]"))?;
            let limits = default_limits.with(&component.limits);
            limits.validate().map_err(|e| anyhow::anyhow!("[components.{name}.limits]: {e}"))?;
            let policy = Policy::from_raw(&component.grants, &component.secrets, base)
                .with_context(|| format!("[components.{name}]"))?;
            for (function, tool) in &component.names {
                crate::tools::validate_tool_name(tool)
                    .map_err(|e| anyhow::anyhow!("[components.{name}.names] {function:?}: {e}"))?;
            }
            components.push(ComponentSpec {
                name,
                source: component.source,
                names: component.names,
                path: base.join(&component.path),
                limits,
                policy: Arc::new(policy),
                scan: ScanSettings { action: component.scan.unwrap_or(scan.action), ..scan },
            });
        }
        let mut trusted_keys = Vec::new();
        for (i, key) in raw.trust.keys.iter().enumerate() {
            trusted_keys
                .push(TrustedKey::read(&base.join(key)).with_context(|| format!("[trust] keys[{i}]"))?);
        }
        if raw.trust.require_signature && trusted_keys.is_empty() {
            bail!("[trust] require_signature is set but no keys are trusted: add [trust] keys");
        }
        let vet_refuse_at = match &raw.vet.refuse_at {
            Some(text) => parse_refuse_at(text)?,
            None => Some(DEFAULT_VET_REFUSE_AT),
        };
        let cache_max_size =
            raw.server.cache_max_size.map_or(crate::store::DEFAULT_CACHE_BUDGET, |size| size.0);
        if cache_max_size == 0 {
            bail!("[server] cache_max_size must be greater than zero");
        }
        Ok(Config {
            max_concurrent_calls,
            cache_dir: raw.server.cache_dir.map(|dir| base.join(dir)),
            cache_max_size,
            drain_timeout: raw.server.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT),
            compile_wait: raw.server.compile_wait.unwrap_or(DEFAULT_COMPILE_WAIT),
            metrics_bind: raw.server.metrics,
            default_limits,
            components,
            engine: EngineOptions::default(),
            gates: LoadGates {
                trusted_keys,
                require_signature: raw.trust.require_signature,
                lock: None,
                vet_refuse_at,
            },
            audit_path: raw.audit.path.map(|path| base.join(path)),
            audit_fsync: raw.audit.fsync,
            http: raw.http.validate(base).context("[http]")?,
            scan,
            confirm: confirmation(raw.confirm)?,
            telemetry: raw.telemetry.map(telemetry).transpose()?,
        })
    }

    /// Adds components given on the command line, named after their file stem.
    /// Adds a component pulled from `source` (`oci://…@sha256:…`), stored at `path`.
    pub fn add_pulled(&mut self, name: String, path: PathBuf, source: String) -> Result<()> {
        validate_component_name(&name)
            .with_context(|| format!("{source}: name it in a config file instead"))?;
        if self.components.iter().any(|c| c.name == name) {
            bail!("{source}: a component named `{name}` is already served");
        }
        self.components.push(ComponentSpec {
            name,
            source: Some(source),
            names: BTreeMap::new(),
            path,
            limits: self.default_limits,
            policy: Arc::default(),
            scan: self.scan,
        });
        Ok(())
    }

    pub fn add_paths(&mut self, paths: &[PathBuf]) -> Result<()> {
        for path in paths {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .with_context(|| format!("cannot derive a component name from {}", path.display()))?;
            let name = stem.replace('_', "-");
            validate_component_name(&name).with_context(|| {
                format!("component {} (name it in a config file instead)", path.display())
            })?;
            self.components.push(ComponentSpec {
                name,
                source: None,
                names: BTreeMap::new(),
                path: path.clone(),
                limits: self.default_limits,
                policy: Arc::default(),
                scan: self.scan,
            });
        }
        Ok(())
    }
}

impl ComponentSpec {
    /// How its functions are named as tools.
    pub fn naming(&self) -> crate::tools::Naming {
        crate::tools::Naming { component: self.name.clone(), aliases: self.names.clone() }
    }
}

/// Component names become the first segment of tool names: letters, digits,
/// `-` and `_`, 1 to 64 characters, no dots (dots separate the segments).
pub fn validate_component_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 {
        bail!("component name `{name}` must be 1 to 64 characters long");
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        bail!("component name `{name}` may only contain letters, digits, `-` and `_`, found {bad:?}");
    }
    Ok(())
}

/// `[confirm]`, checked: each pattern a tool name, or a prefix and `*`.
fn confirmation(raw: RawConfirm) -> Result<Confirmation> {
    for (i, pattern) in raw.tools.iter().enumerate() {
        let name = pattern.strip_suffix('*').unwrap_or(pattern);
        if !(name.is_empty() && pattern == "*") && crate::tools::validate_tool_name(name).is_err() {
            bail!(
                "[confirm] tools[{i}] `{pattern}` is not a tool name, or a tool name's start followed by `*`"
            );
        }
    }
    Ok(Confirmation { tools: raw.tools, destructive: raw.destructive, unsupported: raw.unsupported })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn telemetry_settings_are_checked() {
        let parse = |text: &str| Config::parse(text, Path::new("."));
        let config = parse("[telemetry]\notlp = \"http://collector:4318/otlp\"").unwrap();
        let telemetry = config.telemetry.unwrap();
        assert_eq!(telemetry.otlp.as_str(), "http://collector:4318/otlp/", "signals' paths go below it");
        assert_eq!(telemetry.service_name, "moat");
        assert_eq!(telemetry.metrics_interval, crate::telemetry::DEFAULT_METRICS_INTERVAL);
        assert!(parse("").unwrap().telemetry.is_none(), "off unless configured");
        let error = |text: &str| format!("{:#}", parse(text).unwrap_err());
        assert!(error("[telemetry]\notlp = \"ftp://x\"").contains("expected an http or https URL"));
        assert!(error("[telemetry]\notlp = \"collector:4318\"").contains("expected an http or https URL"));
        assert!(
            error("[telemetry]\notlp = \"http://x\"\nmetrics_interval = \"10ms\"").contains("at least 1s")
        );
        assert!(error("[telemetry]\notlp = \"http://x\"\nsample = 1").contains("unknown field `sample`"));
        assert!(error("[telemetry]\nservice_name = \"m\"").contains("missing field `otlp`"));
    }

    #[test]
    fn a_full_config_parses() {
        let config = Config::parse(
            r#"
            [server]
            max_concurrent_calls = 4
            cache_max_size = "512 MiB"
            [limits]
            wall_clock = "5s"
            [components.text]
            path = "dist/text.wasm"
            [components.slow]
            path = "/abs/slow.wasm"
            limits = { wall_clock = "30s", fuel = 10 }
            "#,
            Path::new("/etc/moat"),
        )
        .unwrap();
        assert_eq!(config.max_concurrent_calls, 4);
        assert_eq!(config.cache_max_size, 512 << 20);
        assert_eq!(Config::default().cache_max_size, 2 << 30);
        let names: Vec<_> = config.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["slow", "text"], "components come in name order");
        assert_eq!(config.components[1].path, Path::new("/etc/moat/dist/text.wasm"));
        assert_eq!(config.components[1].limits.wall_clock, Duration::from_secs(5));
        assert_eq!(config.components[0].limits.wall_clock, Duration::from_secs(30));
        assert_eq!(config.components[0].limits.fuel, 10);
    }

    #[test]
    fn mistakes_are_errors_that_say_where() {
        let typo =
            Config::parse("[components.a]\npath = \"a.wasm\"\nlimit = {}", Path::new(".")).unwrap_err();
        assert!(format!("{typo:#}").contains("unknown field `limit`"), "{typo:#}");
        let bad_name = Config::parse("[components.\"a.b\"]\npath = \"x\"", Path::new(".")).unwrap_err();
        assert!(format!("{bad_name:#}").contains("may only contain"), "{bad_name:#}");
        let zero =
            Config::parse("[components.a]\npath = \"x\"\nlimits = { fuel = 0 }", Path::new(".")).unwrap_err();
        assert!(format!("{zero:#}").contains("[components.a.limits]: limit `fuel`"), "{zero:#}");
        let bad_duration =
            Config::parse("[limits]\nwall_clock = \"ten seconds\"", Path::new(".")).unwrap_err();
        assert!(format!("{bad_duration:#}").contains("wall_clock"), "{bad_duration:#}");
        let no_cache = Config::parse("[server]\ncache_max_size = 0", Path::new(".")).unwrap_err();
        assert!(
            format!("{no_cache:#}").contains("[server] cache_max_size must be greater than zero"),
            "{no_cache:#}"
        );
        let bad_size = Config::parse("[server]\ncache_max_size = \"lots\"", Path::new(".")).unwrap_err();
        assert!(format!("{bad_size:#}").contains("cache_max_size"), "{bad_size:#}");
    }
}

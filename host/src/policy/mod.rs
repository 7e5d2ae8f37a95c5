//! What the user grants a component: directories, environment variables,
//! outgoing HTTP destinations (with secrets the host injects), raw TCP
//! addresses and name lookup. Nothing else exists for the guest.
//!
//! Each capability follows one path: TOML (`Raw*`, unknown keys refused) →
//! validated grant (paths canonicalised, patterns parsed, secrets read, every
//! mistake an error naming the key) → the per-call WASI context
//! ([`Policy::apply`]). No MCP request, tool or guest can change a grant: the
//! policy is read once, from the user's file.

pub mod addresses;
pub mod egress;
pub mod secrets;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Component as PathComponent, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use self::egress::HttpGrant;
use self::secrets::{Redactor, SecretSource, Secrets};

/// `[components.NAME.grants]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrants {
    #[serde(default)]
    files: Vec<RawFileGrant>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    env_from_host: Vec<String>,
    #[serde(default)]
    http: Vec<egress::RawHttpGrant>,
    #[serde(default)]
    tcp_connect: Vec<String>,
    #[serde(default)]
    name_lookup: bool,
    /// May ask the user questions through the client (`moat:host/elicitation`).
    #[serde(default)]
    elicitation: bool,
    /// May ask the client's model for text (`moat:host/sampling`).
    #[serde(default)]
    sampling: bool,
    /// May ask for the client's roots (`moat:host/roots`).
    #[serde(default)]
    roots: bool,
    /// `https` URL prefixes the component may send the user to
    /// (`moat:host/elicitation.ask-url`, with `elicitation`).
    #[serde(default)]
    elicitation_urls: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileGrant {
    host: PathBuf,
    guest: String,
    mode: FileMode,
}

/// Access to a granted directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileMode {
    /// Read files and list directories; nothing can be created, changed or removed.
    Ro,
    /// Everything inside the directory, nothing outside it.
    Rw,
}

/// One directory a component may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileGrant {
    /// Canonical host path (symlinks in the grant itself resolved at load).
    pub host: PathBuf,
    pub guest: String,
    pub mode: FileMode,
}

/// A component's validated grants and secrets.
#[derive(Debug, Default)]
pub struct Policy {
    pub files: Vec<FileGrant>,
    /// Variables the guest sees, with their values (from the policy or the host).
    pub env: BTreeMap<String, String>,
    pub http: Vec<HttpGrant>,
    pub tcp_connect: Vec<SocketAddr>,
    pub name_lookup: bool,
    /// May ask the user through the client (`moat:host/elicitation`).
    pub elicitation: bool,
    /// May ask the client's model (`moat:host/sampling`).
    pub sampling: bool,
    /// May ask for the client's roots (`moat:host/roots`).
    pub roots: bool,
    /// Where URL elicitation may send the user (`https` prefixes).
    pub elicitation_urls: Vec<url::Url>,
    pub secrets: Secrets,
}

impl Policy {
    /// Validates `raw` grants and reads `secrets` (paths relative to `base`).
    pub fn from_raw(
        raw: &RawGrants,
        secrets: &BTreeMap<String, SecretSource>,
        base: &Path,
    ) -> Result<Policy> {
        let secrets = Secrets::load(secrets).context("secrets")?;
        let mut files: Vec<FileGrant> = Vec::new();
        for (i, grant) in raw.files.iter().enumerate() {
            let grant = file_grant(grant, base).with_context(|| format!("grants.files[{i}]"))?;
            if let Some(other) = files.iter().find(|g| g.guest == grant.guest) {
                bail!(
                    "grants.files[{i}]: guest path `{}` is granted twice ({})",
                    grant.guest,
                    other.host.display()
                );
            }
            files.push(grant);
        }
        let mut env = BTreeMap::new();
        for (name, value) in &raw.env {
            validate_env_name(name).context("grants.env")?;
            env.insert(name.clone(), value.clone());
        }
        for name in &raw.env_from_host {
            validate_env_name(name).context("grants.env_from_host")?;
            ensure!(!env.contains_key(name), "grants: `{name}` is in both env and env_from_host");
            let value = std::env::var(name).with_context(|| {
                format!("grants.env_from_host names `{name}`, which is not set in the host environment")
            })?;
            env.insert(name.clone(), value);
        }
        let http = raw
            .http
            .iter()
            .enumerate()
            .map(|(i, grant)| {
                HttpGrant::from_raw(grant, &secrets).with_context(|| format!("grants.http[{i}]"))
            })
            .collect::<Result<Vec<_>>>()?;
        let tcp_connect = raw
            .tcp_connect
            .iter()
            .map(|address| {
                address.parse::<SocketAddr>().with_context(|| {
                    format!("grants.tcp_connect: `{address}` is not an IP:port address (names are not allowed here)")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let elicitation_urls = raw
            .elicitation_urls
            .iter()
            .enumerate()
            .map(|(i, prefix)| {
                elicitation_url(prefix).with_context(|| format!("grants.elicitation_urls[{i}]"))
            })
            .collect::<Result<Vec<_>>>()?;
        ensure!(
            elicitation_urls.is_empty() || raw.elicitation,
            "grants.elicitation_urls needs `elicitation = true`: a page is a question for the user"
        );
        if let Some(unused) = secrets.names().find(|name| !http.iter().any(|g| g.uses_secret(name))) {
            bail!("secret `{unused}` is not used by any grants.http header; remove it or use it");
        }
        Ok(Policy {
            files,
            env,
            http,
            tcp_connect,
            name_lookup: raw.name_lookup,
            elicitation: raw.elicitation,
            sampling: raw.sampling,
            roots: raw.roots,
            elicitation_urls,
            secrets,
        })
    }

    /// Adds the granted capabilities to a deny-all WASI context.
    pub fn apply(&self, wasi: &mut WasiCtxBuilder) -> Result<()> {
        for grant in &self.files {
            let perms = match grant.mode {
                FileMode::Ro => FsPerms::ReadOnly,
                FileMode::Rw => FsPerms::ReadWrite,
            };
            wasi.preopened_dir(&grant.host, &grant.guest, perms)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot open granted directory {}", grant.host.display()))?;
        }
        for (name, value) in &self.env {
            wasi.env(name, value);
        }
        if !self.tcp_connect.is_empty() {
            let allowed: Arc<[SocketAddr]> = self.tcp_connect.clone().into();
            wasi.allow_tcp(true).socket_addr_check(move |address, use_| {
                let allowed = allowed.clone();
                Box::pin(async move {
                    use wasmtime_wasi::sockets::SocketAddrUse;
                    match use_ {
                        SocketAddrUse::TcpConnect => allowed.contains(&address),
                        // The OS binds a connecting socket to an ephemeral port;
                        // wasmtime asks about that implicit bind with the
                        // wildcard address. Nothing else may bind or listen.
                        SocketAddrUse::TcpBind => address.ip().is_unspecified() && address.port() == 0,
                        _ => false,
                    }
                })
            });
        }
        wasi.allow_ip_name_lookup(self.name_lookup);
        Ok(())
    }

    /// Hides every secret value of this component in `text`.
    pub fn redactor(&self) -> &Redactor {
        self.secrets.redactor()
    }

    /// One line per grant, for `moat inspect` and the serve log.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for grant in &self.files {
            let mode = if grant.mode == FileMode::Rw { "read-write" } else { "read-only" };
            out.push(format!("files: {} → {} ({mode})", grant.host.display(), grant.guest));
        }
        for name in self.env.keys() {
            out.push(format!("env: {name}"));
        }
        for grant in &self.http {
            out.push(format!("http: {}", grant.describe()));
        }
        for address in &self.tcp_connect {
            out.push(format!("tcp connect: {address}"));
        }
        if self.elicitation {
            out.push("elicitation: may ask the user questions through the client".into());
        }
        if self.sampling {
            out.push("sampling: may ask the client's model for text".into());
        }
        if self.roots {
            out.push("roots: may ask which directories the client works in".into());
        }
        for prefix in &self.elicitation_urls {
            out.push(format!("elicitation url: may send the user to pages under {prefix}"));
        }
        if self.name_lookup {
            out.push("name lookup".into());
        }
        out
    }

    /// Imports of the component that no grant backs, as warnings: the guest may
    /// expect a capability it will be refused.
    pub fn ungranted_imports(&self, imports: &[String]) -> Vec<String> {
        let mut warnings = Vec::new();
        let imports_of = |prefix: &str| imports.iter().any(|i| i.starts_with(prefix));
        if imports_of("wasi:filesystem/") && self.files.is_empty() {
            warnings.push("imports wasi:filesystem but is granted no directory".into());
        }
        if imports_of("wasi:http/outgoing-handler") && self.http.is_empty() {
            warnings.push("imports wasi:http/outgoing-handler but is granted no HTTP destination".into());
        }
        if imports_of("wasi:sockets/tcp") && self.tcp_connect.is_empty() {
            warnings.push("imports wasi:sockets/tcp but is granted no TCP address".into());
        }
        if imports_of("wasi:sockets/ip-name-lookup") && !self.name_lookup {
            warnings.push("imports wasi:sockets/ip-name-lookup but is not granted name lookup".into());
        }
        if imports_of("moat:host/elicitation") && !self.elicitation {
            warnings.push("imports moat:host/elicitation but is not granted elicitation".into());
        }
        if imports_of("moat:host/sampling") && !self.sampling {
            warnings.push("imports moat:host/sampling but is not granted sampling".into());
        }
        if imports_of("moat:host/roots") && !self.roots {
            warnings.push("imports moat:host/roots but is not granted roots".into());
        }
        warnings
    }
}

fn file_grant(raw: &RawFileGrant, base: &Path) -> Result<FileGrant> {
    let host = expand_home(&raw.host)?;
    let host = if host.is_absolute() { host } else { base.join(host) };
    let host = host
        .canonicalize()
        .with_context(|| format!("host directory {} does not exist or cannot be read", host.display()))?;
    ensure!(host.is_dir(), "host path {} is not a directory", host.display());
    let guest = &raw.guest;
    let guest_path = Path::new(guest);
    ensure!(guest_path.is_absolute(), "guest path `{guest}` must be absolute (e.g. /data)");
    ensure!(
        guest_path.components().all(|c| matches!(c, PathComponent::RootDir | PathComponent::Normal(_))),
        "guest path `{guest}` must not contain `.` or `..`"
    );
    ensure!(guest != "/", "guest path `/` is not allowed: grant a named directory such as /data");
    Ok(FileGrant { host, guest: guest.clone(), mode: raw.mode })
}

fn expand_home(path: &Path) -> Result<PathBuf> {
    match path.strip_prefix("~") {
        Ok(rest) => Ok(dirs::home_dir().context("`~` used but the home directory is unknown")?.join(rest)),
        Err(_) => Ok(path.to_path_buf()),
    }
}

/// An `elicitation_urls` grant: an absolute `https` URL with a host and no
/// user name, password, query or fragment; the pages under its path.
fn elicitation_url(prefix: &str) -> Result<url::Url> {
    let url = url::Url::parse(prefix).with_context(|| format!("`{prefix}` is not a URL"))?;
    ensure!(url.scheme() == "https", "`{prefix}` is not https: moat sends the user only to https pages");
    ensure!(url.host_str().is_some(), "`{prefix}` names no host");
    ensure!(
        url.username().is_empty() && url.password().is_none(),
        "`{prefix}` holds a user name or password"
    );
    ensure!(
        url.query().is_none() && url.fragment().is_none(),
        "`{prefix}` has a query or fragment; a grant is a prefix of pages"
    );
    Ok(url)
}

fn validate_env_name(name: &str) -> Result<()> {
    ensure!(
        !name.is_empty() && !name.contains('=') && !name.contains('\0'),
        "`{name}` is not a valid environment variable name"
    );
    Ok(())
}

#[cfg(test)]
mod tests;

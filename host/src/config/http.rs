//! The HTTP endpoint's settings (`[http]` in moat.toml, `--http ADDR`): the
//! table as written and checked, and the plain data it becomes (where to
//! bind, which hosts and origins, the caps, TLS files, bearer tokens and
//! OAuth). [`crate::mcp::http`] serves by them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// `[http]` as written in moat.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    bind: Option<std::net::SocketAddr>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    max_body: Option<bytesize::ByteSize>,
    max_concurrent_requests: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    session_idle: Option<std::time::Duration>,
    tls: Option<RawTls>,
    #[serde(default)]
    tokens: BTreeMap<String, RawToken>,
    oauth: Option<RawOAuth>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth {
    issuer: String,
    audience: String,
    jwks_file: Option<PathBuf>,
    jwks_url: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    principal_claim: Option<String>,
    tools: Option<Vec<String>>,
    rate_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    /// SHA-256 of the token, hex (`moat token NAME` prints it).
    sha256: String,
    /// Tool name patterns this principal may see and call (default: all).
    tools: Option<Vec<String>>,
    rate_per_minute: Option<u32>,
}

impl RawHttp {
    pub(super) fn validate(self, base: &Path) -> Result<HttpOptions> {
        let defaults = HttpOptions::default();
        let mut tokens = Vec::new();
        for (name, token) in self.tokens {
            let digest = hex::decode(&token.sha256)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .with_context(|| {
                format!("[http.tokens.{name}] sha256 must be 64 hex digits (the token's SHA-256)")
            })?;
            let rate = token.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
            if rate == 0 {
                bail!("[http.tokens.{name}] rate_per_minute must be greater than zero");
            }
            if tokens.iter().any(|t: &TokenSpec| t.sha256 == digest) {
                bail!("[http.tokens.{name}] uses the same token as another principal");
            }
            tokens.push(TokenSpec {
                principal: name,
                sha256: digest,
                tools: Arc::new(token.tools.unwrap_or_else(|| vec!["*".into()])),
                rate_per_minute: rate,
            });
        }
        let max_concurrent_requests =
            self.max_concurrent_requests.unwrap_or(defaults.max_concurrent_requests);
        if max_concurrent_requests == 0 {
            bail!("[http] max_concurrent_requests must be greater than zero");
        }
        Ok(HttpOptions {
            bind: self.bind.unwrap_or(defaults.bind),
            allowed_hosts: self.allowed_hosts,
            allowed_origins: self.allowed_origins,
            max_body: self.max_body.map_or(defaults.max_body, |b| b.as_u64()),
            max_concurrent_requests,
            session_idle: self.session_idle.unwrap_or(defaults.session_idle),
            tls: self.tls.map(|tls| TlsFiles { cert: base.join(tls.cert), key: base.join(tls.key) }),
            tokens,
            oauth: self.oauth.map(|oauth| oauth.validate(base)).transpose().context("[http.oauth]")?,
        })
    }
}

impl RawOAuth {
    fn validate(self, base: &Path) -> Result<OAuthOptions> {
        let jwks = match (self.jwks_file, self.jwks_url) {
            (Some(file), None) => JwksSource::File(base.join(file)),
            (None, Some(url)) => JwksSource::Url(url),
            _ => bail!("give exactly one of jwks_file and jwks_url"),
        };
        if self.issuer.is_empty() || self.audience.is_empty() {
            bail!("issuer and audience must not be empty");
        }
        let rate_per_minute = self.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
        if rate_per_minute == 0 {
            bail!("rate_per_minute must be greater than zero");
        }
        Ok(OAuthOptions {
            issuer: self.issuer,
            audience: self.audience,
            jwks,
            scopes: self.scopes,
            principal_claim: self.principal_claim.unwrap_or_else(|| "sub".into()),
            tools: Arc::new(self.tools.unwrap_or_else(|| vec!["*".into()])),
            rate_per_minute,
        })
    }
}

/// Requests per minute a principal may make unless its token says otherwise.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 600;

/// The HTTP endpoint's settings (`[http]` in moat.toml, `--http ADDR`).
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub bind: SocketAddr,
    /// Host names accepted in `Host` besides the loopback names.
    pub allowed_hosts: Vec<String>,
    /// Origins accepted in `Origin` besides loopback ones (`https://app.example.com:443`);
    /// any other present Origin is 403.
    pub allowed_origins: Vec<String>,
    pub max_body: u64,
    pub max_concurrent_requests: usize,
    pub session_idle: Duration,
    pub tls: Option<TlsFiles>,
    pub tokens: Vec<TokenSpec>,
    /// OAuth 2.1 resource-server mode: JWTs from an authorization server.
    pub oauth: Option<OAuthOptions>,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 8787)),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body: 1 << 20,
            max_concurrent_requests: 64,
            session_idle: Duration::from_secs(30 * 60),
            tls: None,
            tokens: Vec::new(),
            oauth: None,
        }
    }
}

/// One accepted token (`[http.tokens.NAME]`).
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub principal: String,
    pub sha256: [u8; 32],
    /// Tool name patterns the principal may see and call.
    pub tools: Arc<Vec<String>>,
    pub rate_per_minute: u32,
}

/// `[http.oauth]`.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    pub issuer: String,
    /// This resource's identifier: tokens must name it in `aud`.
    pub audience: String,
    pub jwks: JwksSource,
    /// Scopes every token must carry (in `scope` or `scp`).
    pub scopes: Vec<String>,
    /// The claim that names the principal (default `sub`).
    pub principal_claim: String,
    /// Tool name patterns OAuth principals may see and call.
    pub tools: Arc<Vec<String>>,
    pub rate_per_minute: u32,
}

#[derive(Debug, Clone)]
pub enum JwksSource {
    File(PathBuf),
    /// HTTPS, or plain HTTP on a loopback host only.
    Url(String),
}

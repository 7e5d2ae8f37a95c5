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
use jsonwebtoken::Algorithm;
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
    max_requests_per_principal: Option<usize>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    header_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    body_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    stream_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    session_idle: Option<std::time::Duration>,
    rate_store: Option<String>,
    session_store: Option<String>,
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
    algorithms: Option<Vec<String>>,
    #[serde(default, with = "humantime_serde")]
    jwks_refresh: Option<Duration>,
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
        let positive = |value: Option<usize>, default: usize, key: &str| match value {
            Some(0) => bail!("max_{key} must be greater than zero"),
            value => Ok(value.unwrap_or(default)),
        };
        let nonzero = |value: Option<Duration>, default: Duration, key: &str| match value {
            Some(duration) if duration.is_zero() => bail!("{key} must be longer than zero"),
            value => Ok(value.unwrap_or(default)),
        };
        Ok(HttpOptions {
            bind: self.bind.unwrap_or(defaults.bind),
            allowed_hosts: self.allowed_hosts,
            allowed_origins: self.allowed_origins,
            max_body: self.max_body.map_or(defaults.max_body, |b| b.as_u64()),
            max_concurrent_requests: positive(
                self.max_concurrent_requests,
                defaults.max_concurrent_requests,
                "concurrent_requests",
            )?,
            max_requests_per_principal: positive(
                self.max_requests_per_principal,
                defaults.max_requests_per_principal,
                "requests_per_principal",
            )?,
            max_connections: positive(self.max_connections, defaults.max_connections, "connections")?,
            max_connections_per_address: positive(
                self.max_connections_per_address,
                defaults.max_connections_per_address,
                "connections_per_address",
            )?,
            header_timeout: nonzero(self.header_timeout, defaults.header_timeout, "header_timeout")?,
            body_timeout: nonzero(self.body_timeout, defaults.body_timeout, "body_timeout")?,
            stream_timeout: nonzero(self.stream_timeout, defaults.stream_timeout, "stream_timeout")?,
            session_idle: self.session_idle.unwrap_or(defaults.session_idle),
            rate_store: match self.rate_store {
                Some(url) if !url.starts_with("redis://") => {
                    bail!("rate_store must be a redis:// URL (the Redis replicas share rate limits through)")
                }
                store => store,
            },
            session_store: match self.session_store {
                Some(url) if !url.starts_with("redis://") => {
                    bail!("session_store must be a redis:// URL (the Redis replicas share sessions through)")
                }
                store => store,
            },
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
            (None, None) => JwksSource::Discovered,
            (Some(_), Some(_)) => bail!("give at most one of jwks_file and jwks_url"),
        };
        let algorithms = match self.algorithms {
            None => DEFAULT_ALGORITHMS.to_vec(),
            Some(names) if names.is_empty() => bail!("algorithms must name at least one algorithm"),
            Some(names) => names.iter().map(|name| public_key_algorithm(name)).collect::<Result<_>>()?,
        };
        let jwks_refresh = self.jwks_refresh.unwrap_or(DEFAULT_JWKS_REFRESH);
        if jwks_refresh < MIN_JWKS_REFRESH {
            bail!("jwks_refresh must be at least {}", humantime::format_duration(MIN_JWKS_REFRESH));
        }
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
            algorithms,
            jwks_refresh,
        })
    }
}

/// The signature algorithms accepted unless `[http.oauth] algorithms` says
/// otherwise: every public-key one.
pub const DEFAULT_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How long a key set is used before it is fetched again, unless the
/// config says otherwise (or the server's `Cache-Control: max-age` is shorter).
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(10 * 60);

/// The shortest `jwks_refresh`: a key set is not fetched more often.
pub const MIN_JWKS_REFRESH: Duration = Duration::from_secs(1);

/// An algorithm a key set can verify: a public-key one. A shared-secret
/// algorithm (HS256, ...) would take its secret from a key set that is
/// published for anyone to read.
fn public_key_algorithm(name: &str) -> Result<Algorithm> {
    let algorithm: Algorithm =
        name.parse().map_err(|_| anyhow::anyhow!("algorithms: `{name}` is not a JWS algorithm"))?;
    if !DEFAULT_ALGORITHMS.contains(&algorithm) {
        bail!(
            "algorithms: `{name}` is a shared-secret algorithm; a key set is public, so only public-key algorithms are accepted"
        );
    }
    Ok(algorithm)
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
    /// Bytes of one request body (413 past it).
    pub max_body: u64,
    /// Requests in flight across all principals, open streams included (503 past it).
    pub max_concurrent_requests: usize,
    /// Requests in flight of one principal, open streams included (429 past
    /// it): one client holding streams open cannot take every slot.
    pub max_requests_per_principal: usize,
    /// Open connections (a connection past it is closed at once).
    pub max_connections: usize,
    /// Open connections from one client address (a connection past it is
    /// answered 503 and closed).
    pub max_connections_per_address: usize,
    /// Time for a request's headers to arrive, and the longest a kept-alive
    /// connection may wait idle for its next request; then it is closed.
    pub header_timeout: Duration,
    /// Time for a request's whole body to arrive once its headers have (408 past it).
    pub body_timeout: Duration,
    /// The longest a response may stay open (an SSE stream included); then
    /// it ends, and a client that wants more opens another.
    pub stream_timeout: Duration,
    /// A session unused this long is gone.
    pub session_idle: Duration,
    /// The Redis (`redis://…`) whose buckets every replica takes from;
    /// `None`: each process keeps its own.
    pub rate_store: Option<String>,
    /// The Redis (`redis://…`) where 2025-11-25 sessions are kept, so that
    /// any replica serves them; `None`: each process keeps its own.
    pub session_store: Option<String>,
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
            max_concurrent_requests: 256,
            max_requests_per_principal: 64,
            max_connections: 1024,
            max_connections_per_address: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            stream_timeout: Duration::from_secs(10 * 60),
            session_idle: Duration::from_secs(30 * 60),
            rate_store: None,
            session_store: None,
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
    /// The only signature algorithms accepted, whatever a token's header says.
    pub algorithms: Vec<Algorithm>,
    /// How long a key set is used before it is read again: a key removed
    /// from it stops working after at most this long.
    pub jwks_refresh: Duration,
}

#[derive(Debug, Clone)]
pub enum JwksSource {
    File(PathBuf),
    /// HTTPS, or plain HTTP on a loopback host only.
    Url(String),
    /// The `jwks_uri` of the issuer's metadata (RFC 8414, or OpenID
    /// Connect discovery), read at start.
    Discovered,
}

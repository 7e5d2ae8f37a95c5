//! The HTTP endpoint's settings (`[http]` in moat.toml, `--http ADDR`), as
//! plain data: where to bind, which hosts and origins, the caps, TLS files,
//! bearer tokens and OAuth. [`crate::mcp::http`] serves by them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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

//! OAuth 2.1 resource-server mode: bearer JWTs validated against the keys
//! of a JWKS (a file, a URL, or the `jwks_uri` the issuer's metadata names),
//! the issuer, the audience (a token issued for another resource is
//! refused), expiry and not-before, and required scopes. moat only validates
//! tokens: it never passes one on to anything.
//!
//! The algorithm is the config's to choose, never the token's: a token whose
//! header names an algorithm outside `algorithms` is refused before any key
//! is looked at, and a key that declares its algorithm verifies only that
//! one. The key set is read again once its lifetime is over (`jwks_refresh`,
//! or the server's shorter `Cache-Control: max-age`), so a key removed from
//! it stops working; a token naming a key not in the set fetches it again at
//! most once a minute.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use crate::bounds::{MAX_FETCHED_JSON_BYTES, size};
use crate::config::http::{JwksSource, MIN_JWKS_REFRESH, OAuthOptions};
use crate::mcp::handler::Principal;

/// Why a JWT is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthRefusal {
    /// 401 `invalid_token`, with what was wrong (for the log, not the client).
    Invalid(String),
    /// 403 `insufficient_scope`.
    InsufficientScope,
}

/// How often a token naming an unknown key may make moat fetch the key set.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// Where the key set is read from, once the issuer's metadata has been read.
#[derive(Debug, Clone)]
enum KeySource {
    File(std::path::PathBuf),
    Url(String),
}

/// The keys in use, since when, and for how long.
struct Keys {
    set: JwkSet,
    read_at: Instant,
    lifetime: Duration,
}

pub struct OAuthVerifier {
    pub options: OAuthOptions,
    source: KeySource,
    keys: Mutex<Keys>,
    /// One read of the key set at a time.
    reading: tokio::sync::Mutex<()>,
}

impl OAuthVerifier {
    /// Finds and reads the keys now: a server that cannot check tokens does not start.
    pub async fn new(options: OAuthOptions) -> Result<OAuthVerifier> {
        let source = match &options.jwks {
            JwksSource::File(path) => KeySource::File(path.clone()),
            JwksSource::Url(url) => KeySource::Url(checked_url(url, "jwks_url")?),
            JwksSource::Discovered => KeySource::Url(
                discover(&options.issuer)
                    .await
                    .with_context(|| format!("cannot find the key set of issuer {}", options.issuer))?,
            ),
        };
        let keys = read(&source, options.jwks_refresh).await?;
        if keys.set.keys.is_empty() {
            bail!("the JWKS holds no keys");
        }
        Ok(OAuthVerifier { options, source, keys: Mutex::new(keys), reading: tokio::sync::Mutex::new(()) })
    }

    /// The principal a JWT stands for, if it is valid for this resource.
    pub async fn verify(&self, token: &str) -> Result<Principal, OAuthRefusal> {
        let header = decode_header(token).map_err(|e| OAuthRefusal::Invalid(format!("not a JWT: {e}")))?;
        if !self.options.algorithms.contains(&header.alg) {
            return Err(OAuthRefusal::Invalid(format!("the algorithm {:?} is not accepted", header.alg)));
        }
        let expired = |keys: &Keys| keys.read_at.elapsed() > keys.lifetime;
        let stale = expired(&self.lock_keys());
        if stale {
            self.reread(expired).await;
        }
        let kid = header.kid.clone().unwrap_or_default();
        let mut key = self.key(&kid, header.alg);
        if key.is_none() {
            self.reread(|keys| keys.read_at.elapsed() > REFETCH_AFTER).await;
            key = self.key(&kid, header.alg);
        }
        let key = key.ok_or_else(|| OAuthRefusal::Invalid(format!("no key `{kid}` for {:?}", header.alg)))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.options.issuer]);
        validation.set_audience(&[&self.options.audience]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = decode::<Value>(token, &key, &validation)
            .map_err(|e| OAuthRefusal::Invalid(e.to_string()))?
            .claims;
        let granted: Vec<&str> = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(scope)), _) => scope.split_whitespace().collect(),
            (_, Some(Value::Array(scopes))) => scopes.iter().filter_map(Value::as_str).collect(),
            (_, Some(Value::String(scope))) => scope.split_whitespace().collect(),
            _ => Vec::new(),
        };
        if !self.options.scopes.iter().all(|needed| granted.contains(&needed.as_str())) {
            return Err(OAuthRefusal::InsufficientScope);
        }
        let name = claims
            .get(&self.options.principal_claim)
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| OAuthRefusal::Invalid(format!("no `{}` claim", self.options.principal_claim)))?;
        Ok(Principal { name: format!("oauth:{name}"), tools: self.options.tools.clone() })
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the key set again if `due` still holds once no other read is
    /// under way. A set that cannot be read keeps the one in use, with a
    /// warning: the server goes on checking tokens against the last keys it
    /// read.
    async fn reread(&self, due: impl Fn(&Keys) -> bool) {
        let _reading = self.reading.lock().await;
        if !due(&self.lock_keys()) {
            return;
        }
        match read(&self.source, self.options.jwks_refresh).await {
            Ok(keys) if !keys.set.keys.is_empty() => *self.lock_keys() = keys,
            Ok(_) => {
                tracing::warn!("the JWKS now holds no keys; the keys read before stay in use");
                self.lock_keys().read_at = Instant::now();
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot read the JWKS again; the keys read before stay in use");
                self.lock_keys().read_at = Instant::now();
            }
        }
    }

    /// The decoding key for `kid` that may verify `alg`: a key that declares
    /// its algorithm verifies that one only.
    fn key(&self, kid: &str, alg: Algorithm) -> Option<DecodingKey> {
        let keys = self.lock_keys();
        let candidates: Vec<_> = match kid {
            "" => keys.set.keys.iter().collect(),
            kid => keys.set.find(kid).into_iter().collect(),
        };
        candidates
            .into_iter()
            .filter(|jwk| {
                jwk.common.key_algorithm.is_none_or(|declared| declared.to_string() == format!("{alg:?}"))
            })
            .find_map(|jwk| DecodingKey::from_jwk(jwk).ok())
    }
}

/// HTTPS, or plain HTTP to a loopback host (a test's, or a sidecar's).
fn checked_url(url: &str, what: &str) -> Result<String> {
    let parsed: http::Uri = url.parse().with_context(|| format!("{what} `{url}` is not a URL"))?;
    let loopback = matches!(parsed.host(), Some("localhost" | "127.0.0.1" | "[::1]" | "::1"));
    if parsed.scheme_str() != Some("https") && !(parsed.scheme_str() == Some("http") && loopback) {
        bail!("{what} `{url}` must be https (plain http only for loopback hosts)");
    }
    Ok(url.to_string())
}

fn client() -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("HTTP client for OAuth")
}

/// GETs JSON of at most [`MAX_FETCHED_JSON_BYTES`]; with the response's
/// `Cache-Control: max-age`, if it gives one.
async fn fetch_json(url: &str) -> Result<(Value, Option<Duration>)> {
    let mut response = client()?.get(url).send().await.with_context(|| format!("cannot fetch {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    let max_age = response
        .headers()
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| directive.trim().strip_prefix("max-age=")?.parse().ok())
        .map(Duration::from_secs);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.with_context(|| format!("cannot read {url}"))? {
        if body.len() + chunk.len() > MAX_FETCHED_JSON_BYTES {
            bail!("{url} sent more than {}, moat's bound", size(MAX_FETCHED_JSON_BYTES as u64));
        }
        body.extend_from_slice(&chunk);
    }
    let json = serde_json::from_slice(&body).with_context(|| format!("{url} did not send JSON"))?;
    Ok((json, max_age))
}

/// Reads the key set, and how long it may be used: `refresh`, or the
/// server's shorter `max-age` (never less than [`MIN_JWKS_REFRESH`]).
async fn read(source: &KeySource, refresh: Duration) -> Result<Keys> {
    let (json, max_age) = match source {
        KeySource::File(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read JWKS {}", path.display()))?;
            (serde_json::from_str(&text).context("the JWKS is not JSON")?, None)
        }
        KeySource::Url(url) => fetch_json(url).await?,
    };
    let set: JwkSet = serde_json::from_value(json).context("the JWKS is not a JSON Web Key Set")?;
    let lifetime = max_age.map_or(refresh, |max_age| max_age.min(refresh)).max(MIN_JWKS_REFRESH);
    Ok(Keys { set, read_at: Instant::now(), lifetime })
}

/// The `jwks_uri` of the issuer's authorization-server metadata (RFC 8414),
/// or of its OpenID Connect discovery document, whichever answers first.
/// The metadata must name the same issuer, as RFC 8414 (3.3) requires.
async fn discover(issuer: &str) -> Result<String> {
    let issuer = checked_url(issuer, "issuer")?;
    let parsed: http::Uri = issuer.parse()?;
    let origin =
        format!("{}://{}", parsed.scheme_str().unwrap_or("https"), parsed.authority().context("no host")?);
    let path = parsed.path().trim_end_matches('/');
    let candidates = [
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')),
    ];
    let mut tried = Vec::new();
    for url in candidates {
        match fetch_json(&url).await {
            Ok((metadata, _)) => {
                let named = metadata.get("issuer").and_then(Value::as_str);
                if named != Some(issuer.as_str()) {
                    bail!("{url} names the issuer {named:?}, not {issuer:?}");
                }
                let jwks_uri = metadata
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .with_context(|| format!("{url} names no jwks_uri"))?;
                return checked_url(jwks_uri, "jwks_uri");
            }
            Err(error) => tried.push(format!("{error:#}")),
        }
    }
    bail!("no metadata: {}", tried.join("; "))
}

//! OAuth 2.1 resource-server mode: bearer JWTs validated against the keys
//! of a JWKS (file or URL), the issuer, the audience (a token issued for
//! another resource is refused), expiry and not-before, and required scopes.
//! moat only validates tokens: it never passes one on to anything.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use crate::config::http::{JwksSource, OAuthOptions};
use crate::mcp::handler::Principal;

/// Why a JWT is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthRefusal {
    /// 401 `invalid_token`, with what was wrong (for the log, not the client).
    Invalid(String),
    /// 403 `insufficient_scope`.
    InsufficientScope,
}

/// How often a JWKS URL may be fetched again for an unknown key id.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

pub struct OAuthVerifier {
    pub options: OAuthOptions,
    keys: Mutex<(JwkSet, Instant)>,
}

impl OAuthVerifier {
    /// Loads the keys now: a server that cannot check tokens does not start.
    pub async fn new(options: OAuthOptions) -> Result<OAuthVerifier> {
        let keys = load(&options.jwks).await?;
        if keys.keys.is_empty() {
            bail!("the JWKS holds no keys");
        }
        Ok(OAuthVerifier { options, keys: Mutex::new((keys, Instant::now())) })
    }

    /// The principal a JWT stands for, if it is valid for this resource.
    pub async fn verify(&self, token: &str) -> Result<Principal, OAuthRefusal> {
        let header = decode_header(token).map_err(|e| OAuthRefusal::Invalid(format!("not a JWT: {e}")))?;
        let kid = header.kid.clone().unwrap_or_default();
        let mut key = self.key(&kid, header.alg);
        if key.is_none() && matches!(self.options.jwks, JwksSource::Url(_)) {
            let stale = self.keys.lock().expect("keys lock").1.elapsed() > REFETCH_AFTER;
            if stale && let Ok(fresh) = load(&self.options.jwks).await {
                *self.keys.lock().expect("keys lock") = (fresh, Instant::now());
                key = self.key(&kid, header.alg);
            }
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

    /// The decoding key for `kid` whose algorithm family fits `alg`.
    fn key(&self, kid: &str, alg: Algorithm) -> Option<DecodingKey> {
        let keys = self.keys.lock().expect("keys lock");
        let candidates: Vec<_> = match kid {
            "" => keys.0.keys.iter().collect(),
            kid => keys.0.find(kid).into_iter().collect(),
        };
        candidates
            .into_iter()
            .filter(|jwk| {
                jwk.common.key_algorithm.is_none_or(|declared| declared.to_string() == format!("{alg:?}"))
            })
            .find_map(|jwk| DecodingKey::from_jwk(jwk).ok())
    }
}

async fn load(source: &JwksSource) -> Result<JwkSet> {
    let text = match source {
        JwksSource::File(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read JWKS {}", path.display()))?
        }
        JwksSource::Url(url) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let parsed: http::Uri = url.parse().with_context(|| format!("jwks_url `{url}` is not a URL"))?;
            let loopback = matches!(parsed.host(), Some("localhost" | "127.0.0.1" | "[::1]" | "::1"));
            if parsed.scheme_str() != Some("https") && !loopback {
                bail!("jwks_url `{url}` must be https (plain http only for loopback hosts)");
            }
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .context("HTTP client for the JWKS")?;
            let response =
                client.get(url).send().await.with_context(|| format!("cannot fetch JWKS {url}"))?;
            if !response.status().is_success() {
                bail!("JWKS {url} answered {}", response.status());
            }
            response.text().await.with_context(|| format!("cannot read JWKS {url}"))?
        }
    };
    serde_json::from_str(&text).context("the JWKS is not a JSON Web Key Set")
}

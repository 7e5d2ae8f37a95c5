//! Who is calling: static bearer tokens, stored only as their SHA-256, checked
//! on every request; and the TLS acceptor for `[http] tls`.

use std::sync::Arc;

use anyhow::{Context, Result};
use base64::Engine as _;
use http::HeaderMap;
use rand_core::RngCore;
use sha2::{Digest, Sha256};

use crate::config::http::{TlsFiles, TokenSpec};
use crate::mcp::handler::Principal;

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Malformed,
    Invalid,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "authentication required: send `Authorization: Bearer TOKEN`",
            Refusal::Malformed => "the Authorization header is not `Bearer TOKEN`",
            Refusal::Invalid => "the bearer token is not valid",
        }
    }
}

/// The bearer token of a request: `Ok(None)` when there is no Authorization header.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| Refusal::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(Refusal::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Refusal::Malformed);
    }
    Ok(Some(token.trim()))
}

/// The principal of a static token, if `token` is one of them.
pub fn static_principal(tokens: &[TokenSpec], token: &str) -> Option<Principal> {
    let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    // Compare against every token, in constant time per comparison.
    let mut found = None;
    for spec in tokens {
        let difference = spec.sha256.iter().zip(presented.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if difference == 0 {
            found = Some(spec);
        }
    }
    found.map(|spec| Principal { name: spec.principal.clone(), tools: spec.tools.clone() })
}

/// Everyone on a loopback-only server without authentication.
pub fn local_principal() -> Principal {
    Principal { name: "local".into(), tools: Arc::new(vec!["*".into()]) }
}

/// A new token: 32 bytes from the OS CSPRNG, base64url, prefixed `moat_`.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    format!("moat_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 of a token, hex: what the config stores.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A TLS acceptor from PEM certificate chain and key files.
pub fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("cannot read certificates from {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} holds an invalid certificate", files.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read a private key from {}", files.key.display()))?;
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("the TLS certificate and key do not fit together")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

//! Credentials as a client presents them: the `Authorization` header read
//! as a bearer token, and the token checked as a static token and as an
//! OAuth JWT (header, algorithm, key id, claims) against a key set. Never a
//! panic, and nothing from the fuzzer is ever accepted: it knows neither
//! the static token nor how to sign with the key.

use std::sync::{Arc, OnceLock};

use http::{HeaderMap, HeaderValue, header};
use moat::config::http::{JwksSource, OAuthOptions, TokenSpec};
use moat::mcp::http::auth::{bearer, static_principal};
use moat::mcp::http::oauth::OAuthVerifier;

/// The P-256 example key of RFC 7515 (A.3): the fuzzer cannot sign with it.
const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig",
"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    verifier: OAuthVerifier,
    tokens: Vec<TokenSpec>,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let jwks = dir.path().join("jwks.json");
        std::fs::write(&jwks, JWKS).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let options = OAuthOptions {
            issuer: "https://issuer.example".into(),
            audience: "https://moat.example/mcp".into(),
            jwks: JwksSource::File(jwks),
            scopes: vec!["mcp".into()],
            principal_claim: "sub".into(),
            tools: Arc::new(vec!["*".into()]),
            rate_per_minute: 600,
            algorithms: moat::config::http::DEFAULT_ALGORITHMS.to_vec(),
            jwks_refresh: moat::config::http::DEFAULT_JWKS_REFRESH,
        };
        let verifier = runtime.block_on(OAuthVerifier::new(options)).expect("the fixture's key set loads");
        let tokens = vec![TokenSpec {
            principal: "alice".into(),
            sha256: [0x5a; 32],
            tools: Arc::new(vec!["*".into()]),
            rate_per_minute: 600,
        }];
        Fixture { runtime, verifier, tokens, _dir: dir }
    })
}

pub fn check(data: &[u8]) {
    let fixture = fixture();
    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    let Ok(Some(token)) = bearer(&headers) else { return };
    assert!(!token.is_empty() && token.trim() == token, "{token:?}");
    assert!(static_principal(&fixture.tokens, token).is_none(), "a token nobody holds was accepted");
    let verified = fixture.runtime.block_on(fixture.verifier.verify(token));
    assert!(verified.is_err(), "a JWT nobody could sign was accepted: {verified:?}");
}

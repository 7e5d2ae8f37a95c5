//! `moat serve --http`: Streamable HTTP through rmcp's client in both
//! protocol eras, and each attack of T5–T7 tried and refused with the status
//! the spec names, with nothing logged that should not be.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, ServiceExt};
use serde_json::json;

use crate::support::{MOAT, examples, shared_cache};

pub(crate) const ALICE: &str = "moat_alice-token-0123456789abcdefghijklmnopqrstuvwxyz";
pub(crate) const BOB: &str = "moat_bob-token-0123456789abcdefghijklmnopqrstuvwxyz012";
const CAROL: &str = "moat_carol-token-0123456789abcdefghijklmnopqrstuvwxy";

pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A running `moat serve --http 127.0.0.1:0` and its address.
pub struct HttpMoat {
    child: tokio::process::Child,
    address: String,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl HttpMoat {
    pub(crate) async fn start(extra: &str) -> HttpMoat {
        let dir = tempfile::tempdir().unwrap();
        let dist = examples();
        let config = format!(
            "[components.text]\npath = \"{d}/text.wasm\"\n[components.units]\npath = \"{d}/units.wasm\"\n\n\
             [http.tokens.alice]\nsha256 = \"{a}\"\ntools = [\"text.*\", \"asker.ask-user\"]\nrate_per_minute = 30\n\
             [http.tokens.bob]\nsha256 = \"{b}\"\n{extra}\n",
            d = dist.display(),
            a = sha256_hex(ALICE),
            b = sha256_hex(BOB),
        );
        std::fs::write(dir.path().join("moat.toml"), config).unwrap();
        let config = dir.path().join("moat.toml");
        Self::serve(&config, dir).await
    }

    /// Serves `config` over HTTP on a free loopback port; `dir` lives as long as the server.
    pub async fn serve(config: &std::path::Path, dir: tempfile::TempDir) -> HttpMoat {
        Self::serve_with_cache(config, dir, &shared_cache()).await
    }

    /// Like [`HttpMoat::serve`], with the compile cache in `cache`.
    pub async fn serve_with_cache(
        config: &std::path::Path,
        dir: tempfile::TempDir,
        cache: &std::path::Path,
    ) -> HttpMoat {
        let mut child = tokio::process::Command::new(MOAT)
            .args(["serve", "--http", "127.0.0.1:0", "--config"])
            .arg(config)
            .arg("--cache-dir")
            .arg(cache)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn moat");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sink = log.clone();
        // Drained on a thread of its own, not a task: a test that blocks its
        // runtime in `raw` must not stop the draining, or moat (logging at
        // debug) fills the pipe and its backlog, and drops log lines.
        let stderr = std::fs::File::from(child.stderr.take().unwrap().into_owned_fd().unwrap());
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Logged before the address is sent: a test reading the log as
                // soon as `start` returns finds the serving line in it.
                {
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(url) = line
                    .split("url=")
                    .nth(1)
                    .filter(|_| line.contains("serving MCP over HTTP"))
                    .and_then(|u| u.split_whitespace().next())
                    && let Some(tx) = tx.take()
                {
                    let address = url.trim_start_matches("http://").trim_start_matches("https://");
                    let _ = tx.send(address.trim_end_matches("/mcp").to_string());
                }
            }
        });
        let address = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .unwrap_or_else(|_| panic!("moat did not start serving HTTP:\n{}", log.lock().unwrap()))
            .unwrap();
        HttpMoat { child, address, log, _dir: dir }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.address)
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits (at most a minute) for the process to end.
    pub(crate) async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id().unwrap() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("moat did not stop after SIGTERM:\n{}", self.log()))
            .unwrap()
    }

    /// SIGKILL, as a crashed or evicted replica: nothing is drained.
    pub(crate) async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// The log once nothing was added to it for 200 ms: for what it must not contain.
    pub(crate) async fn settled_log(&self) -> String {
        crate::support::settled(&self.log).await
    }

    /// One raw HTTP/1.1 exchange: status code, headers and body as text.
    pub(crate) fn raw(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut request =
            format!("{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.address);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, response)
    }
}

/// The `Mcp-Session-Id` of a raw HTTP response.
fn session_of(response: &str) -> String {
    response
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id: ").or_else(|| l.strip_prefix("Mcp-Session-Id: ")))
        .expect("a session ID header")
        .trim()
        .to_string()
}

pub(crate) fn initialize_body() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    .to_string()
}

const JSON_HEADERS: [(&str, &str); 2] =
    [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];

pub(crate) fn with_token<'a>(token: &'a str, bearer: &'a mut String) -> Vec<(&'a str, &'a str)> {
    *bearer = format!("Bearer {token}");
    let mut headers = JSON_HEADERS.to_vec();
    headers.push(("Authorization", bearer.as_str()));
    headers
}

#[tokio::test]
async fn both_protocol_eras_over_http_with_per_principal_tools() {
    // rmcp's HTTP client uses reqwest with rustls; this test process picks ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let audit = tempfile::tempdir().unwrap();
    let audit_log = audit.path().join("audit.jsonl");
    let moat = HttpMoat::start(&format!("[audit]\npath = {:?}", audit_log.to_str().unwrap())).await;
    // 2025-11-25: initialize and a session, as alice (text.* only).
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(moat.url()).auth_header(ALICE),
    );
    let mut info = ClientConfig::default();
    info.protocol_version = ProtocolVersion::V_2025_11_25;
    let alice = info.serve(transport).await.expect("session starts");
    let names: Vec<String> =
        alice.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(names.iter().all(|n| n.starts_with("text.")) && !names.is_empty(), "{names:?}");
    let result = alice
        .call_tool(
            CallToolRequestParams::new("text.word-count")
                .with_arguments(json!({"text": "one two"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert!(format!("{result:?}").contains('2'));
    let hidden = alice
        .call_tool(
            CallToolRequestParams::new("units.convert")
                .with_arguments(json!({"value": 1.0, "from": "km", "to": "m"}).as_object().unwrap().clone()),
        )
        .await;
    assert!(hidden.is_err(), "a tool alice may not call is an unknown tool: {hidden:?}");
    alice.cancel().await.ok();

    // 2026-07-28: stateless, server/discover, as bob (everything).
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(moat.url()).auth_header(BOB),
    );
    let mode = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
    let bob = ClientConfig::default().serve_with_lifecycle(transport, mode).await.expect("discover works");
    let names: Vec<String> =
        bob.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(names.contains(&"units.convert".to_string()), "{names:?}");
    bob.cancel().await.ok();

    let log = moat.settled_log().await;
    assert!(!log.contains(ALICE) && !log.contains(BOB), "tokens are never logged");
    let audit_text = std::fs::read_to_string(&audit_log).unwrap();
    let first: serde_json::Value = serde_json::from_str(audit_text.lines().next().unwrap()).unwrap();
    assert_eq!(first["principal"], "alice", "the audit log names the authenticated principal");
    assert_eq!(first["tool"], "text.word-count");
}

#[tokio::test]
async fn tls_from_certificate_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    crate::support::self_signed_certificate(&cert, &key);
    let moat = HttpMoat::start(&format!(
        "[http]\ntls = {{ cert = {:?}, key = {:?} }}",
        cert.to_str().unwrap(),
        key.to_str().unwrap()
    ))
    .await;
    assert!(moat.log().contains("url=https://"), "{}", moat.log());
    let curl = |scheme: &str| {
        let output = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--cacert"])
            .arg(&cert)
            .args([
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-H",
                "Accept: application/json, text/event-stream",
            ])
            .args(["-H", &format!("Authorization: Bearer {BOB}"), "-d", &initialize_body()])
            .arg(format!("{scheme}://{}/mcp", moat.address))
            .output()
            .expect("curl is installed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(curl("https"), "200", "an initialize over TLS, certificate verified by curl");
    assert_ne!(curl("http"), "200", "plain HTTP is not served on a TLS port");
}

#[tokio::test]
async fn attacks_are_refused_with_the_right_status() {
    let moat = HttpMoat::start("").await;
    let body = initialize_body();

    // No credential: 401 with a challenge that points at the metadata.
    let (status, response) = moat.raw("POST", "/mcp", &JSON_HEADERS, &body);
    assert_eq!(status, 401, "{response}");
    assert!(response.to_lowercase().contains("www-authenticate: bearer"), "{response}");
    assert!(response.contains("resource_metadata=\"http://"), "{response}");
    let (status, metadata) = moat.raw("GET", "/.well-known/oauth-protected-resource", &[], "");
    assert_eq!(status, 200);
    assert!(metadata.contains("\"resource\":\"http://") && metadata.contains("/mcp\""), "{metadata}");

    // A wrong token.
    let mut bearer = String::new();
    let (status, response) =
        moat.raw("POST", "/mcp", &with_token("moat_not-a-real-token", &mut bearer), &body);
    assert_eq!(status, 401);
    assert!(response.contains("error=\"invalid_token\""), "{response}");

    // A token in the query string is refused even when it is valid.
    let (status, _) = moat.raw("POST", &format!("/mcp?access_token={ALICE}"), &JSON_HEADERS, &body);
    assert_eq!(status, 400);

    // A foreign Origin (DNS rebinding) with a valid token.
    let mut headers = with_token(ALICE, &mut bearer);
    headers.push(("Origin", "https://evil.example"));
    let (status, response) = moat.raw("POST", "/mcp", &headers, &body);
    assert_eq!(status, 403, "{response}");
    // A page on this machine is not a rebinding attack.
    let mut headers = with_token(ALICE, &mut bearer);
    let local_origin = format!("http://localhost:{}", moat.address.rsplit(':').next().unwrap());
    headers.push(("Origin", &local_origin));
    let (status, response) = moat.raw("POST", "/mcp", &headers, &body);
    assert_eq!(status, 200, "{response}");

    // An oversized body: refused from its declared length, before any of it is read.
    // (Only the head is sent, so the refusal cannot race the upload.)
    let mut stream = TcpStream::connect(&moat.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ALICE}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        moat.address,
        2 << 20
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");

    // Alice opens a session; bob presenting alice's session ID gets 404.
    let (status, response) = moat.raw("POST", "/mcp", &with_token(ALICE, &mut bearer), &body);
    assert_eq!(status, 200, "{response}");
    let session = session_of(&response);
    assert!(session.len() >= 43, "at least 256 bits, base64url: {session}");
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let mut bob_bearer = String::new();
    let mut headers = with_token(BOB, &mut bob_bearer);
    headers.push(("Mcp-Session-Id", &session));
    headers.push(("MCP-Protocol-Version", "2025-11-25"));
    let (status, response) = moat.raw("POST", "/mcp", &headers, &list);
    assert_eq!(status, 404, "another principal's session is unknown: {response}");
    // The session ID in the URL is refused.
    let (status, _) =
        moat.raw("POST", &format!("/mcp?mcp-session-id={session}"), &with_token(ALICE, &mut bearer), &list);
    assert_eq!(status, 400);

    let log = moat.settled_log().await;
    assert!(!log.contains(&session), "session IDs are never logged");
    assert!(!log.contains(ALICE) && !log.contains(BOB), "tokens are never logged");
}

#[tokio::test]
async fn a_flooding_principal_is_limited_while_another_is_served() {
    // carol may make 3 requests a minute, and gains one more every 20 s: her
    // limit holds however slowly a busy machine answers the requests below.
    let carol = format!("[http.tokens.carol]\nsha256 = \"{}\"\nrate_per_minute = 3\n", sha256_hex(CAROL));
    let moat = HttpMoat::start(&carol).await;
    let body = initialize_body();
    let mut bearer = String::new();
    let started = Instant::now();
    let (requests, mut limited): (usize, usize) = (12, 0);
    for _ in 0..requests {
        let (status, _) = moat.raw("POST", "/mcp", &with_token(CAROL, &mut bearer), &body);
        if status == 429 {
            limited += 1;
        }
    }
    let allowed = 3 + started.elapsed().as_secs() as usize / 20 + 1;
    assert!(
        limited >= requests.saturating_sub(allowed),
        "carol was limited {limited} times of {requests} in {:?}",
        started.elapsed()
    );
    let (status, response) = moat.raw("POST", "/mcp", &with_token(CAROL, &mut bearer), &body);
    assert_eq!(status, 429);
    assert!(response.to_lowercase().contains("retry-after:"), "{response}");
    let mut bob_bearer = String::new();
    let (status, _) = moat.raw("POST", "/mcp", &with_token(BOB, &mut bob_bearer), &body);
    assert_eq!(status, 200, "bob is still served");
}

#[tokio::test]
async fn a_public_bind_without_authentication_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("moat.toml"),
        format!("[components.text]\npath = \"{}/text.wasm\"\n", examples().display()),
    )
    .unwrap();
    let output = tokio::process::Command::new(MOAT)
        .args(["serve", "--http", "0.0.0.0:0", "--config"])
        .arg(dir.path().join("moat.toml"))
        .arg("--cache-dir")
        .arg(shared_cache())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("without authentication"));
}

impl Drop for HttpMoat {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// An authorization server's signing key and its JWKS, for the OAuth tests.
struct Issuer {
    pem: String,
    jwks: serde_json::Value,
}

impl Issuer {
    fn new(kid: &str) -> Issuer {
        use base64::Engine as _;
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::EncodePrivateKey;
        let key = p256::SecretKey::random(&mut rand_core::OsRng);
        let point = key.public_key().to_encoded_point(false);
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())}]});
        let pem = key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap().to_string();
        Issuer { pem, jwks }
    }

    fn token(&self, kid: &str, claims: serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.into());
        let key = jsonwebtoken::EncodingKey::from_ec_pem(self.pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }
}

fn claims(iss: &str, aud: &str, expires_in: i64, scope: &str) -> serde_json::Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({"iss": iss, "aud": aud, "sub": "carol", "iat": now, "exp": now + expires_in, "scope": scope})
}

const ISSUER: &str = "https://auth.example.test";
const AUDIENCE: &str = "https://moat.example.test/mcp";

#[tokio::test]
async fn oauth_tokens_are_checked_for_signature_issuer_audience_expiry_and_scope() {
    let issuer = Issuer::new("k1");
    let jwks_dir = tempfile::tempdir().unwrap();
    let jwks_file = jwks_dir.path().join("jwks.json");
    std::fs::write(&jwks_file, issuer.jwks.to_string()).unwrap();
    let moat = HttpMoat::start(&format!(
        "[http.oauth]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_file = {:?}\nscopes = [\"mcp:tools\"]\ntools = [\"units.*\"]",
        jwks_file.to_str().unwrap()
    ))
    .await;
    let body = initialize_body();
    let mut bearer = String::new();
    let mut status_of = |token: &str| moat.raw("POST", "/mcp", &with_token(token, &mut bearer), &body);

    let good = issuer.token("k1", claims(ISSUER, AUDIENCE, 300, "openid mcp:tools"));
    assert_eq!(status_of(&good).0, 200, "a valid token");
    let (status, response) = status_of(&issuer.token("k1", claims(ISSUER, AUDIENCE, -300, "mcp:tools")));
    assert_eq!(status, 401, "expired: {response}");
    assert!(response.contains("error=\"invalid_token\""));
    let (status, _) =
        status_of(&issuer.token("k1", claims(ISSUER, "https://other.example/mcp", 300, "mcp:tools")));
    assert_eq!(status, 401, "a token issued for another resource");
    let (status, _) =
        status_of(&issuer.token("k1", claims("https://evil.example", AUDIENCE, 300, "mcp:tools")));
    assert_eq!(status, 401, "a token from another issuer");
    let (status, response) = status_of(&issuer.token("k1", claims(ISSUER, AUDIENCE, 300, "openid")));
    assert_eq!(status, 403, "a missing scope: {response}");
    assert!(
        response.contains("error=\"insufficient_scope\"") && response.contains("scope=\"mcp:tools\""),
        "{response}"
    );
    let forger = Issuer::new("k1");
    let (status, _) = status_of(&forger.token("k1", claims(ISSUER, AUDIENCE, 300, "mcp:tools")));
    assert_eq!(status, 401, "a token signed by another key");

    let (_, metadata) = moat.raw("GET", "/.well-known/oauth-protected-resource", &[], "");
    assert!(metadata.contains(&format!("\"authorization_servers\":[\"{ISSUER}\"]")), "{metadata}");

    // The OAuth principal sees the tools its configuration grants.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(moat.url()).auth_header(good.clone()),
    );
    let client = ClientConfig::default().serve(transport).await.expect("session starts");
    let names: Vec<String> =
        client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(!names.is_empty() && names.iter().all(|n| n.starts_with("units.")), "{names:?}");
    client.cancel().await.ok();
    assert!(!moat.settled_log().await.contains(&good), "tokens are never logged");
}

/// An authorization server on 127.0.0.1: its metadata (RFC 8414) at the
/// well-known path, and a key set that the test can change.
struct AuthServer {
    url: String,
    jwks: Arc<Mutex<String>>,
}

impl AuthServer {
    async fn start(jwks: &serde_json::Value) -> AuthServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = Arc::new(Mutex::new(jwks.to_string()));
        let (keys, issuer) = (served.clone(), url.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (keys, issuer) = (keys.clone(), issuer.clone());
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buffer = [0u8; 4096];
                    let read = stream.read(&mut buffer).await.unwrap_or(0);
                    let request = String::from_utf8_lossy(&buffer[..read]);
                    let body = if request.starts_with("GET /.well-known/oauth-authorization-server ") {
                        json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")}).to_string()
                    } else {
                        keys.lock().unwrap().clone()
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        AuthServer { url, jwks: served }
    }
}

/// The keys come from the issuer's own metadata; a key removed from the set
/// stops working once the set's lifetime is over, and its successor works;
/// the algorithm is the config's, whatever a token's header says. (Two
/// worker threads: the authorization server's tasks answer moat while the
/// test blocks in its raw requests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_keys_are_discovered_rotated_and_held_to_the_configured_algorithms() {
    let (old, new) = (Issuer::new("old"), Issuer::new("new"));
    let server = AuthServer::start(&old.jwks).await;
    let issuer = server.url.clone();
    let moat = HttpMoat::start(&format!(
        "[http.oauth]\nissuer = \"{issuer}\"\naudience = \"{AUDIENCE}\"\njwks_refresh = \"1s\"\nalgorithms = [\"ES256\"]"
    ))
    .await;
    let body = initialize_body();
    let mut bearer = String::new();
    let mut status_of = |token: &str| moat.raw("POST", "/mcp", &with_token(token, &mut bearer), &body).0;
    let old_token = old.token("old", claims(&issuer, AUDIENCE, 300, ""));
    assert_eq!(status_of(&old_token), 200, "the discovered key verifies");

    // A header naming another algorithm is refused before any key is read:
    // here HS256, "signed" with the public key's own bytes as the secret.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("old".into());
    let secret = jsonwebtoken::EncodingKey::from_secret(old.jwks.to_string().as_bytes());
    let confused = jsonwebtoken::encode(&header, &claims(&issuer, AUDIENCE, 300, ""), &secret).unwrap();
    assert_eq!(status_of(&confused), 401, "an algorithm outside the config's list");

    // The issuer rotates: the old key leaves the set, the new one joins.
    *server.jwks.lock().unwrap() = new.jwks.to_string();
    let new_token = new.token("new", claims(&issuer, AUDIENCE, 300, ""));
    let mut statuses = (0, 0);
    for _ in 0..100 {
        statuses = (status_of(&old_token), status_of(&new_token));
        if statuses == (401, 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(statuses, (401, 200), "after the set's lifetime the removed key no longer verifies");
    let log = moat.settled_log().await;
    assert!(log.contains("the algorithm HS256 is not accepted"), "{log}");
}

#[test]
fn oauth_config_refuses_shared_secret_algorithms_and_two_key_sources() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    for (oauth, says) in [
        ("algorithms = [\"HS256\"]", "`HS256` is a shared-secret algorithm"),
        ("algorithms = [\"XY999\"]", "`XY999` is not a JWS algorithm"),
        (
            "jwks_file = \"a.json\"\njwks_url = \"https://a.example/k\"",
            "at most one of jwks_file and jwks_url",
        ),
        ("jwks_refresh = \"10ms\"", "jwks_refresh must be at least 1s"),
    ] {
        std::fs::write(
            &config,
            format!("[http.oauth]\nissuer = \"https://a.example\"\naudience = \"https://m.example/mcp\"\n{oauth}\n"),
        )
        .unwrap();
        let output =
            crate::support::moat(&[std::ffi::OsStr::new("serve"), "--config".as_ref(), config.as_os_str()]);
        let stderr = crate::support::stderr_of(&output);
        assert!(!output.status.success() && stderr.contains(says), "{oauth}: {stderr}");
    }
}

#[tokio::test]
async fn oauth_keys_can_come_from_a_jwks_url() {
    let issuer = Issuer::new("url-key");
    let jwks = issuer.jwks.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let jwks = jwks.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{jwks}",
                    jwks.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    let moat = HttpMoat::start(&format!(
        "[http.oauth]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_url = \"http://{jwks_address}/jwks.json\""
    ))
    .await;
    let mut bearer = String::new();
    let token = issuer.token("url-key", claims(ISSUER, AUDIENCE, 300, ""));
    let (status, response) = moat.raw("POST", "/mcp", &with_token(&token, &mut bearer), &initialize_body());
    assert_eq!(status, 200, "{response}");
}

/// The official Python SDK over HTTP, in both protocol eras.
#[tokio::test]
async fn the_official_python_sdk_over_http() {
    let asker = format!(
        "[components.asker]\npath = \"{}/hostile.wasm\"\ngrants = {{ elicitation = true }}\n",
        examples().display()
    );
    let moat = HttpMoat::start(&asker).await;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let output = tokio::process::Command::new(&python)
        .arg(crate::support::repo_root().join("tests/python/http_client.py"))
        .env("MOAT_URL", moat.url())
        .env("MOAT_TOKEN", ALICE)
        .output()
        .await
        .expect("python3 runs (make test installs the SDK)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("all checks passed"),
        "python client failed:\n{stdout}\n{}\nmoat log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        moat.log()
    );
    println!("{stdout}");
}

#[tokio::test]
async fn caps_on_headers_protocol_headers_and_requests_in_flight() {
    let moat = HttpMoat::start("[http]\nmax_concurrent_requests = 2").await;
    let body = initialize_body();
    let mut bearer = String::new();

    // Oversized headers.
    let mut headers = with_token(ALICE, &mut bearer);
    let huge = "x".repeat(100 * 1024);
    headers.push(("X-Padding", &huge));
    let (status, _) = moat.raw("POST", "/mcp", &headers, &body);
    assert_eq!(status, 431, "request headers over the cap");

    // A protocol version header the server does not speak.
    let (status, response) = moat.raw("POST", "/mcp", &with_token(ALICE, &mut bearer), &body);
    assert_eq!(status, 200, "{response}");
    let session = session_of(&response);
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let mut headers = with_token(ALICE, &mut bearer);
    headers.push(("Mcp-Session-Id", &session));
    headers.push(("MCP-Protocol-Version", "2025-11-25"));
    let (status, _) = moat.raw("POST", "/mcp", &headers, &initialized);
    assert_eq!(status, 202);
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let mut wrong = with_token(ALICE, &mut bearer);
    wrong.push(("Mcp-Session-Id", &session));
    wrong.push(("MCP-Protocol-Version", "1999-01-01"));
    let (status, _) = moat.raw("POST", "/mcp", &wrong, &list);
    assert_eq!(status, 400, "an unsupported MCP-Protocol-Version");
    // A header that is no version at all is not repeated back (the http_gate
    // fuzz target found rmcp's answer quoting it).
    let mut garbage = with_token(ALICE, &mut bearer);
    garbage.push(("Mcp-Session-Id", &session));
    garbage.push(("MCP-Protocol-Version", "<script>alert(1)</script>"));
    let (status, response) = moat.raw("POST", "/mcp", &garbage, &list);
    assert_eq!(status, 400, "{response}");
    assert!(!response.contains("<script>"), "{response}");

    // Two open SSE streams fill the two slots: a third request waits for none.
    let open_stream = || {
        let mut stream = TcpStream::connect(&moat.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "GET /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ALICE}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n",
            moat.address
        )
        .unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 200", "the stream opened");
        stream
    };
    let first = open_stream();
    let mut bob_bearer = String::new();
    let (status, _) = moat.raw("POST", "/mcp", &with_token(BOB, &mut bob_bearer), &body);
    assert_eq!(status, 200, "one slot is still free");
    let second = open_stream();
    let (status, response) = moat.raw("POST", "/mcp", &with_token(BOB, &mut bob_bearer), &body);
    assert_eq!(status, 503, "both slots are held by open streams: {response}");
    drop((first, second));
    let mut status = 0;
    for _ in 0..50 {
        status = moat.raw("POST", "/mcp", &with_token(BOB, &mut bob_bearer), &body).0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "closed streams give their slots back");
}

/// Found by a black-box run against the server: rmcp answered these with
/// 415 and a line of text.
#[tokio::test]
async fn bodies_that_are_no_message_get_json_rpc_errors() {
    let moat = HttpMoat::start("").await;
    let mut bearer = String::new();
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    for (body, code, says) in [
        ("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\"", -32700, "EOF while parsing"),
        (deep.as_str(), -32700, "nests deeper than 128 levels, moat's bound"),
        ("[]", -32600, "Invalid Request"),
        ("{\"jsonrpc\": \"2.0\", \"id\": 9, \"hello\": 1}", -32600, "Invalid Request"),
    ] {
        let (status, response) = moat.raw("POST", "/mcp", &with_token(ALICE, &mut bearer), body);
        assert_eq!(status, 400, "{response}");
        let error: serde_json::Value =
            serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(error["error"]["code"], code, "{error}");
        assert!(error["error"]["message"].as_str().unwrap().contains(says), "{error}");
    }
}

#[tokio::test]
async fn a_foreign_host_header_is_refused_and_idle_sessions_expire() {
    let moat = HttpMoat::start("[http]\nsession_idle = \"1s\"").await;
    let body = initialize_body();
    let mut bearer = String::new();

    // DNS rebinding by Host: a name that resolves here but is not this server's.
    let mut stream = TcpStream::connect(&moat.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nHost: attacker.example\r\nAuthorization: Bearer {ALICE}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    // Before authentication too, and for the metadata: nothing moat answers
    // names a host the client chose (found by the http_gate fuzz target).
    for (method, target, headers) in [
        ("POST", "/mcp", "Content-Type: application/json\r\n"),
        ("GET", "/.well-known/oauth-protected-resource", ""),
    ] {
        let mut stream = TcpStream::connect(&moat.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: attacker.example\r\n{headers}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        assert!(response.starts_with("HTTP/1.1 403"), "{method} {target}: {response}");
        assert!(!response.contains("attacker.example"), "the foreign host is not echoed: {response}");
    }

    // A session unused for longer than session_idle is gone.
    let (status, response) = moat.raw("POST", "/mcp", &with_token(ALICE, &mut bearer), &body);
    assert_eq!(status, 200, "{response}");
    let session = session_of(&response);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let mut headers = with_token(ALICE, &mut bearer);
    headers.push(("Mcp-Session-Id", &session));
    headers.push(("MCP-Protocol-Version", "2025-11-25"));
    let (status, response) = moat.raw("POST", "/mcp", &headers, &list);
    assert_eq!(status, 404, "an expired session is unknown: {response}");
}

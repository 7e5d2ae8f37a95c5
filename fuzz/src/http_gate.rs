//! Raw bytes on a connection to `moat serve --http`: hyper's parser, moat's
//! gate (path, query, caps, bearer token, rate, session owner, body) and
//! rmcp behind it, serving an empty host. Never a panic; every answer is an
//! HTTP response; the client's token is never echoed back. The seeds
//! carry the fixture's token, so that mutations get past authentication.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use moat::config::Config;
use moat::config::http::{HttpOptions, TokenSpec};
use moat::mcp::http::{Gate, hash_token, serve_connection};
use moat::served::Host;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The token the seeds carry.
pub const TOKEN: &str = "moat_fuzz-token-0123456789abcdefghijklmnopqrstuvwxyz";

/// How long one input may hold its connection, in the runtime's paused time.
const PATIENCE: Duration = Duration::from_secs(60);

struct Fixture {
    runtime: tokio::runtime::Runtime,
    host: Arc<Host>,
    options: HttpOptions,
    _cache: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let cache = tempfile::tempdir().unwrap();
        let config = Config { cache_dir: Some(cache.path().to_path_buf()), ..Config::default() };
        let (host, _) = moat::load::load(&config).expect("an empty host loads");
        // Paused time moves on whenever nothing else can: a connection left
        // open after its last request is closed at once by the (virtual)
        // header_timeout, and a stream ends at its stream_timeout.
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        let digest = hex_digest(TOKEN);
        let options = HttpOptions {
            tokens: vec![TokenSpec {
                principal: "fuzz".into(),
                sha256: digest,
                tools: Arc::new(vec!["*".into()]),
                rate_per_minute: u32::MAX,
            }],
            header_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            stream_timeout: Duration::from_secs(30),
            ..HttpOptions::default()
        };
        Fixture { runtime, host: Arc::new(host), options, _cache: cache }
    })
}

fn hex_digest(token: &str) -> [u8; 32] {
    let hex = hash_token(token);
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    digest
}

pub fn check(data: &[u8]) {
    let fixture = fixture();
    let answer = fixture.runtime.block_on(async {
        let gate = Gate::new(fixture.host.clone(), &fixture.options, "http").await.expect("the gate builds");
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(serve_connection(gate, server, Duration::from_secs(1), None));
        let mut answer = Vec::new();
        // The client never closes its side: hyper takes that for a client
        // gone and would drop the answers.
        let exchange = async {
            client.write_all(data).await.ok();
            client.read_to_end(&mut answer).await.ok();
        };
        let _ = tokio::time::timeout(PATIENCE, exchange).await;
        served.abort();
        answer
    });
    if answer.is_empty() {
        return;
    }
    // hyper answers an HTTP/1.0 request in HTTP/1.0.
    assert!(
        answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
        "not an HTTP answer: {:?}",
        String::from_utf8_lossy(&answer)
    );
    let status = &answer[9..answer.len().min(12)];
    assert!(
        status.len() == 3 && status.iter().all(u8::is_ascii_digit),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // The credential is never repeated; the input's other text may be (a
    // version date, an allowed host), so the check holds where the token
    // was sent only as the credential.
    let contains = |bytes: &[u8]| bytes.windows(TOKEN.len()).any(|window| window == TOKEN.as_bytes());
    let elsewhere: Vec<u8> = data
        .split(|b| *b == b'\n')
        .filter(|line| !line.to_ascii_lowercase().starts_with(b"authorization:"))
        .flat_map(|line| line.iter().copied().chain([b'\n']))
        .collect();
    if !contains(&elsewhere) {
        assert!(!contains(&answer), "the token came back: {:?}", String::from_utf8_lossy(&answer));
    }
}

//! No slot a client can hold forever over HTTP (T9): one principal holding
//! hundreds of streams, connections that never finish their headers or
//! their body, idle kept-alive connections and a crowd from one address,
//! while another principal is served throughout. Each hold ends by its
//! deadline or is refused by its cap; nothing here measures time.

use std::net::SocketAddr;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::http::{ALICE, BOB, HttpMoat, sha256_hex};

const MALLORY: &str = "moat_mallory-token-0123456789abcdefghijklmnopqrstuvw";

/// How long any one step may take before the test gives up: far past every
/// deadline the server below is given, so that only a hold that never ends fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// A connection to `server` from the loopback address `from` (127.0.0.0/8
/// is all this machine's), so that the test can be many clients at once.
async fn connect_from(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    match tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received)).await {
        Ok(_) => String::from_utf8_lossy(&received).into_owned(),
        Err(_) => panic!("the server held the connection open: {}", String::from_utf8_lossy(&received)),
    }
}

/// Reads one response head (through its blank line).
async fn head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await.expect("a response head") {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn status(head: &str) -> u16 {
    head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Opens a 2025-11-25 session as `token` with raw requests; its ID.
async fn session(server: SocketAddr, token: &str) -> String {
    let post = |body: String, session: Option<&str>| {
        let session = session.map(|s| format!("Mcp-Session-Id: {s}\r\nMCP-Protocol-Version: 2025-11-25\r\n"));
        format!(
            "POST /mcp HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            session.unwrap_or_default(),
            body.len()
        )
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let mut stream = TcpStream::connect(server).await.unwrap();
    stream.write_all(post(initialize.to_string(), None).as_bytes()).await.unwrap();
    let response = until_closed(&mut stream).await;
    let session = response
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("mcp-session-id: ").map(|_| l[16..].trim().to_string())
        })
        .unwrap_or_else(|| panic!("no session: {response}"));
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let mut stream = TcpStream::connect(server).await.unwrap();
    stream.write_all(post(initialized.to_string(), Some(&session)).as_bytes()).await.unwrap();
    assert_eq!(status(&until_closed(&mut stream).await), 202);
    session
}

/// A request for the session's SSE stream (GET /mcp).
fn stream_request(server: SocketAddr, token: &str, session: &str) -> String {
    format!(
        "GET /mcp HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n"
    )
}

/// alice lists the tools and makes a call through rmcp's client.
async fn alice_is_served(moat: &HttpMoat) {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(moat.url()).auth_header(ALICE),
    );
    let mut info = ClientConfig::default();
    info.protocol_version = ProtocolVersion::V_2025_11_25;
    let alice =
        tokio::time::timeout(PATIENCE, info.serve(transport)).await.unwrap().expect("alice's session");
    let tools = alice.list_all_tools().await.expect("alice lists the tools");
    assert!(!tools.is_empty());
    let result = alice
        .call_tool(
            CallToolRequestParams::new("text.word-count")
                .with_arguments(json!({"text": "still served"}).as_object().unwrap().clone()),
        )
        .await
        .expect("alice's call");
    assert!(format!("{result:?}").contains('2'), "{result:?}");
    alice.cancel().await.ok();
}

#[tokio::test]
async fn a_client_holding_streams_and_slow_connections_cannot_crowd_out_another() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let extra = format!(
        "[http.tokens.mallory]\nsha256 = \"{}\"\nrate_per_minute = 1000000\n\n\
         [limits]\nwall_clock = \"2s\"\n\n\
         [http]\nmax_requests_per_principal = 8\nmax_connections_per_address = 16\n\
         header_timeout = \"2s\"\nbody_timeout = \"2s\"\nstream_timeout = \"4s\"\n",
        sha256_hex(MALLORY)
    );
    let moat = HttpMoat::start(&extra).await;
    let server: SocketAddr = moat.address().parse().unwrap();
    let session = session(server, MALLORY).await;

    // mallory asks for 500 streams from 50 addresses: 8 open, the rest are refused.
    let mut streams = Vec::new();
    let mut refused = 0;
    for i in 0..500u32 {
        let mut stream = connect_from([127, 0, 1, (i / 10) as u8 + 1], server).await;
        stream.write_all(stream_request(server, MALLORY, &session).as_bytes()).await.unwrap();
        match status(&head(&mut stream).await) {
            200 => streams.push(stream),
            429 => refused += 1,
            other => panic!("stream request {i}: status {other}"),
        }
    }
    assert_eq!(streams.len(), 8, "max_requests_per_principal streams open");
    assert_eq!(refused, 492, "the others refused with 429");

    // Headers that never end, and a body that never arrives, from two more addresses.
    let mut slow_headers = Vec::new();
    for _ in 0..10 {
        let mut stream = connect_from([127, 0, 2, 1], server).await;
        stream.write_all(format!("POST /mcp HTTP/1.1\r\nHost: {server}\r\n").as_bytes()).await.unwrap();
        slow_headers.push(stream);
    }
    let mut slow_bodies = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from([127, 0, 2, 2], server).await;
        let start = format!(
            "POST /mcp HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {BOB}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{{\"jsonrpc\""
        );
        stream.write_all(start.as_bytes()).await.unwrap();
        slow_bodies.push(stream);
    }

    // alice is served while all of that is held.
    alice_is_served(&moat).await;

    // Too many connections from one address: past 16, answered 503 and closed.
    let mut crowd = Vec::new();
    for _ in 0..20 {
        crowd.push(connect_from([127, 0, 3, 1], server).await);
    }
    let mut crowd_refused = 0;
    for stream in &mut crowd {
        let answer = until_closed(stream).await;
        if answer.starts_with("HTTP/1.1 503") {
            assert!(answer.contains("too many open connections"), "{answer}");
            crowd_refused += 1;
        } else {
            assert_eq!(answer, "", "an idle connection is closed without an answer");
        }
    }
    assert_eq!(crowd_refused, 4, "connections past max_connections_per_address");

    // Every hold ends by its deadline.
    for stream in &mut slow_headers {
        assert_eq!(until_closed(stream).await, "", "headers that never end: closed at header_timeout");
    }
    for stream in &mut slow_bodies {
        let answer = until_closed(stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "a body that never arrives: {answer}");
    }
    for stream in &mut streams {
        let rest = until_closed(stream).await;
        assert!(rest.ends_with("0\r\n\r\n"), "an SSE stream ends cleanly at stream_timeout: {rest:?}");
    }
    // Their slots are back: mallory may open a stream again.
    let mut again = connect_from([127, 0, 1, 1], server).await;
    again.write_all(stream_request(server, MALLORY, &session).as_bytes()).await.unwrap();
    assert_eq!(status(&head(&mut again).await), 200, "a stream after the others ended");

    // A kept-alive connection that goes idle after its answer is closed.
    let mut idle = TcpStream::connect(server).await.unwrap();
    let metadata = format!("GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: {server}\r\n\r\n");
    idle.write_all(metadata.as_bytes()).await.unwrap();
    let answer = head(&mut idle).await;
    assert_eq!(status(&answer), 200, "{answer}");
    let length: usize = answer
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap())
        })
        .expect("a content length");
    let mut body = vec![0u8; length];
    idle.read_exact(&mut body).await.unwrap();
    assert_eq!(
        until_closed(&mut idle).await,
        "",
        "an idle kept-alive connection is closed at header_timeout"
    );

    alice_is_served(&moat).await;
}

#[tokio::test]
async fn a_stream_timeout_shorter_than_a_call_is_refused_at_start() {
    let extra = "[http]\nstream_timeout = \"5s\"\n";
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    let dist = crate::support::examples();
    std::fs::write(&config, format!("[components.text]\npath = \"{}/text.wasm\"\n{extra}", dist.display()))
        .unwrap();
    let output = crate::support::moat(&[
        std::ffi::OsStr::new("serve"),
        "--http".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert!(!output.status.success());
    let stderr = crate::support::stderr_of(&output);
    assert!(
        stderr.contains("stream_timeout (5s) must be longer than the wall_clock of [components.text] (10s)"),
        "{stderr}"
    );
}

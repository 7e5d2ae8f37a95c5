//! The harness's Streamable HTTP client: one MCP session (2025-11-25) over
//! one kept-alive HTTP/1.1 connection, spoken to with raw JSON-RPC, the same
//! way for moat and for the native baseline. Responses come as JSON or as an
//! SSE stream (rmcp's default); either way the answer is the message with the
//! request's id.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use serde_json::{Value, json};

pub struct HttpSession {
    sender: SendRequest<Full<Bytes>>,
    address: SocketAddr,
    /// `Authorization: Bearer` (moat's side: a token with a rate limit no run reaches).
    token: Option<String>,
    session: Option<String>,
    next_id: u64,
}

impl HttpSession {
    /// Connects and initializes a session.
    pub async fn open(address: SocketAddr, token: Option<&str>) -> Result<HttpSession> {
        let stream = tokio::net::TcpStream::connect(address).await.context("connect")?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut session =
            HttpSession { sender, address, token: token.map(str::to_string), session: None, next_id: 1 };
        session.request("initialize", crate::initialize_params()).await?;
        session.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await?;
        Ok(session)
    }

    /// Waits (up to 30 s) until something accepts connections at `address`.
    pub async fn wait_for(address: SocketAddr) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            if Instant::now() > deadline {
                bail!("nothing listens on {address}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Waits (up to five minutes) until `/readyz` at `address` answers 200:
    /// every component compiled and linked.
    pub async fn wait_ready(address: SocketAddr) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let stream = tokio::net::TcpStream::connect(address).await.context("connect")?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            let request = hyper::Request::get("/readyz")
                .header("host", address.to_string())
                .body(Full::new(Bytes::new()))?;
            if sender.send_request(request).await?.status().is_success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{address} was not ready in five minutes");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn post(&mut self, message: &Value) -> Result<(hyper::http::response::Parts, Bytes)> {
        let mut request = hyper::Request::post("/mcp")
            .header("host", self.address.to_string())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25");
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Full::new(Bytes::from(serde_json::to_vec(message)?)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        if !parts.status.is_success() {
            bail!("HTTP {}: {}", parts.status, String::from_utf8_lossy(&body));
        }
        Ok((parts, body))
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let (parts, body) =
            self.post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await?;
        if let Some(session) = parts.headers.get("mcp-session-id") {
            self.session = Some(session.to_str()?.to_string());
        }
        let text = std::str::from_utf8(&body)?;
        let messages: Vec<Value> = if text.trim_start().starts_with('{') {
            vec![serde_json::from_str(text)?]
        } else {
            text.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str(d.trim()).ok())
                .collect()
        };
        let answer = messages.into_iter().find(|m| m["id"] == id).context("no answer in the response")?;
        if let Some(error) = answer.get("error") {
            bail!("{method} failed: {error}");
        }
        Ok(answer["result"].clone())
    }

    /// One tools/call; fails on a tool error.
    pub async fn call(&mut self, tool: &str, args: &Value) -> Result<Duration> {
        let started = Instant::now();
        let result = self.request("tools/call", json!({"name": tool, "arguments": args})).await?;
        if result["isError"] == true {
            bail!("{tool} returned an error: {result}");
        }
        Ok(started.elapsed())
    }
}

/// `calls` tools/call over `clients` sessions at once (each its own
/// connection, one call in flight each): calls per second.
pub async fn throughput(
    address: SocketAddr,
    token: Option<&str>,
    tool: &str,
    args: &Value,
    calls: usize,
    clients: usize,
) -> Result<f64> {
    let mut sessions = Vec::new();
    for _ in 0..clients {
        let mut session = HttpSession::open(address, token).await?;
        session.call(tool, args).await?; // warm
        sessions.push(session);
    }
    let per_client = calls / clients;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut session in sessions {
        let (tool, args) = (tool.to_string(), args.clone());
        tasks.spawn(async move {
            for _ in 0..per_client {
                session.call(&tool, &args).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((per_client * clients) as f64 / started.elapsed().as_secs_f64())
}

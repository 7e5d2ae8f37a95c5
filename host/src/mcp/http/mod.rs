//! `moat serve --http`: MCP Streamable HTTP at `/mcp`, through rmcp, behind
//! a gate that a security reviewer can read in one sitting.
//!
//! Owns, for every request, in this order: the probes (`/healthz`,
//! `/readyz`: [`observe`]); the `Host` (one of this server's
//! names: a foreign one is 403 before anything, so that nothing moat answers
//! names a host the client chose); the path (`/mcp`, and RFC 9728
//! metadata at `/.well-known/oauth-protected-resource`); no query string
//! (credentials and session IDs travel in headers only); the concurrency
//! cap; authentication (a bearer token on every request: sessions are never
//! authentication); the principal's own cap on requests in flight and its
//! rate limit ([`rates`]: in this process, or in a Redis replicas share);
//! the session's owner (another principal's session ID is an
//! unknown session: 404); the body, read whole under its cap and deadline,
//! and JSON (else 400 with JSON-RPC's -32700, saying what and where);
//! then rmcp, which checks `Host` and `Origin` (DNS rebinding, 403) and the
//! protocol headers. The principal rides along in the request's extensions
//! to the MCP handler, which filters tools/list and refuses calls by it.
//!
//! Before any request, each connection passes the caps on open connections
//! (in all, and per client address) and has `header_timeout` for its TLS
//! handshake, for each request's headers, and to stay idle between
//! requests; a response ends at `stream_timeout` ([`slots`]). When moat is
//! stopped, it takes no new connection and lets the open ones finish what
//! they serve, within `[server] drain_timeout`.

pub mod auth;
pub mod oauth;
pub mod observe;
pub mod rates;
pub mod redis_store;
pub mod sessions;
pub mod slots;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use rmcp::transport::streamable_http_server::session::SessionStore;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use auth::{hash_token, new_token};
use oauth::{OAuthRefusal, OAuthVerifier};

use crate::config::http::{HttpOptions, TokenSpec};
use crate::mcp::handler::{McpServer, Principal};
use crate::served::Host;
use observe::Readiness;
use rates::Rates;
use sessions::{MoatSessions, SharedSessions};
use slots::{Expiring, PerKey};

pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// Serves `host` over HTTP until `stop` resolves; then drains: takes no new
/// connection, answers `/readyz` with 503 on the open ones, lets each finish
/// the request it is serving (within `drain_timeout`), and returns.
pub async fn serve(
    host: Arc<Host>,
    options: HttpOptions,
    drain_timeout: Duration,
    stop: impl Future<Output = ()>,
) -> Result<()> {
    if !options.bind.ip().is_loopback() && options.tokens.is_empty() && options.oauth.is_none() {
        bail!(
            "refusing to serve on {} without authentication: bind a loopback address, or add [http.tokens.NAME] (see `moat token`) or [http.oauth]",
            options.bind
        );
    }
    let tls = options.tls.as_ref().map(auth::tls_acceptor).transpose()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let gate = Gate::new(host, &options, scheme).await?;
    let listener = TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("cannot listen on {}", options.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(
        url = %format!("{scheme}://{address}/mcp"),
        authentication = gate.authentication(),
        "serving MCP over HTTP"
    );
    let connections = Arc::new(Semaphore::new(options.max_connections));
    let per_address: PerKey<IpAddr> = PerKey::new(options.max_connections_per_address);
    let header_timeout = options.header_timeout;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let Ok(connection) = connections.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = options.max_connections, "a connection past max_connections, closed");
            gate.host.metrics().refused("connections");
            continue;
        };
        let Some(from_address) = per_address.try_take(&peer.ip()) else {
            tracing::warn!(
                %peer,
                max = options.max_connections_per_address,
                "a connection past max_connections_per_address, refused"
            );
            gate.host.metrics().refused("connections-per-address");
            if tls.is_none() {
                // One try, never a wait: a client that does not read gets nothing.
                let _ = stream.try_write(TOO_MANY_CONNECTIONS);
            }
            continue;
        };
        // Responses are written in pieces (headers, then SSE events): with
        // Nagle's algorithm on, the client's delayed ACK held each answer back
        // by about 40 ms (found by the HTTP benchmark).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
        }
        let gate = gate.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _held = (connection, from_address);
            let result = match tls {
                Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => serve_connection(gate, stream, header_timeout, Some(watcher)).await,
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake not done within header_timeout");
                        return;
                    }
                },
                None => serve_connection(gate, stream, header_timeout, Some(watcher)).await,
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    gate.readiness.drain();
    tracing::info!(
        connections = graceful.count(),
        calls_in_flight = gate.host.metrics().calls_in_flight(),
        deadline = %humantime::format_duration(drain_timeout),
        "stopping: no new connections; draining the open ones"
    );
    match tokio::time::timeout(drain_timeout, graceful.shutdown()).await {
        Ok(()) => tracing::info!("drained"),
        Err(_) => tracing::warn!(
            calls_in_flight = gate.host.metrics().calls_in_flight(),
            "the drain deadline passed; what was still open is cut"
        ),
    }
    Ok(())
}

/// Serves the HTTP/1.1 requests of one connection through `gate`, with
/// `header_timeout` for each request's headers and for the wait between them.
/// A client that closes its sending side is taken to be gone (hyper's
/// default): its requests and streams end at once and give their slots back.
/// With a `watcher`, the connection finishes its request and closes when
/// the server drains.
pub async fn serve_connection<I>(
    gate: Arc<Gate>,
    io: I,
    header_timeout: Duration,
    watcher: Option<hyper_util::server::graceful::Watcher>,
) -> hyper::Result<()>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let gate = gate.clone();
        async move { Ok::<_, Infallible>(gate.handle(request).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    match watcher {
        Some(watcher) => watcher.watch(connection).await,
        None => connection.await,
    }
}

/// Every request's way in: the checks of this module, then rmcp.
pub struct Gate {
    /// What is served (the gate counts its refusals in its metrics).
    host: Arc<Host>,
    /// `/readyz`: 503 once the server drains.
    readiness: Readiness,
    /// Names (`host` or `host:port`) a request's `Host` may be.
    allowed_hosts: Vec<String>,
    tokens: Vec<TokenSpec>,
    oauth: Option<OAuthVerifier>,
    rates: Rates,
    /// Where sessions are shared with other replicas, if anywhere.
    shared_sessions: Option<Arc<SharedSessions>>,
    /// Session ID → the principal that created it, and when it was last used.
    owners: Mutex<HashMap<String, (String, Instant)>>,
    session_idle: Duration,
    /// Requests in flight, of all principals.
    slots: Arc<Semaphore>,
    /// Requests in flight, per principal.
    principal_slots: PerKey<String>,
    max_body: u64,
    body_timeout: Duration,
    stream_timeout: Duration,
    scheme: &'static str,
    mcp: StreamableHttpService<McpServer, MoatSessions>,
}

const SESSION_HEADER: &str = "mcp-session-id";
/// What a connection past `max_connections_per_address` is told before it is closed.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\ntoo many open connections from your address\n";
/// The most header bytes (names and values) a request may carry.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Requests per minute for a principal whose credential sets no rate.
const DEFAULT_RATE: u32 = crate::config::DEFAULT_RATE_PER_MINUTE;

/// Why a request is not authenticated, by credential kind.
enum Refusal {
    Static(auth::Refusal),
    OAuth(OAuthRefusal),
}
const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

impl Gate {
    /// The gate for `host` with `options`; `scheme` is how clients reach it.
    pub async fn new(host: Arc<Host>, options: &HttpOptions, scheme: &'static str) -> Result<Arc<Gate>> {
        if let Some(component) =
            host.components.iter().find(|c| c.limits.wall_clock >= options.stream_timeout)
        {
            bail!(
                "[http] stream_timeout ({}) must be longer than the wall_clock of [components.{}] ({}): a call's answer would be cut off",
                humantime::format_duration(options.stream_timeout),
                component.name,
                humantime::format_duration(component.limits.wall_clock)
            );
        }
        let oauth = match options.oauth.clone() {
            Some(oauth) => Some(OAuthVerifier::new(oauth).await.context("[http.oauth]")?),
            None => None,
        };
        let rates = match &options.rate_store {
            Some(url) => Rates::redis(url).await.context("[http] rate_store")?,
            None => Rates::local(),
        };
        let mut allowed_hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        allowed_hosts.extend(options.allowed_hosts.iter().cloned());
        // Pages served from this machine may call it; any other Origin is 403.
        let mut allowed_origins: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .flat_map(|host| [format!("http://{host}:*"), format!("https://{host}:*")])
            .collect();
        allowed_origins.extend(options.allowed_origins.iter().cloned());
        let shared_sessions = match &options.session_store {
            Some(url) => Some(
                SharedSessions::connect(url, options.session_idle).await.context("[http] session_store")?,
            ),
            None => None,
        };
        let mut config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(allowed_hosts.clone())
            .with_allowed_origins(allowed_origins)
            .enforce_origin_validation();
        config.session_store = shared_sessions.clone().map(|store| store as Arc<dyn SessionStore>);
        let served = host.clone();
        let mcp = StreamableHttpService::new(
            move || Ok(McpServer::new(served.clone())),
            Arc::new(MoatSessions::new(options.session_idle, shared_sessions.is_some())),
            config,
        );
        Ok(Arc::new(Gate {
            host,
            readiness: Readiness::default(),
            allowed_hosts,
            tokens: options.tokens.clone(),
            oauth,
            rates,
            shared_sessions,
            owners: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(options.max_concurrent_requests)),
            principal_slots: PerKey::new(options.max_requests_per_principal),
            max_body: options.max_body,
            body_timeout: options.body_timeout,
            stream_timeout: options.stream_timeout,
            session_idle: options.session_idle,
            scheme,
            mcp,
        }))
    }

    /// How clients authenticate, for the log.
    fn authentication(&self) -> &'static str {
        match (self.tokens.is_empty(), self.oauth.is_some()) {
            (true, false) => "none (loopback only)",
            (false, false) => "bearer tokens",
            (true, true) => "OAuth (JWT)",
            (false, true) => "bearer tokens and OAuth (JWT)",
        }
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        // Probes come with whatever Host the orchestrator uses, and no credential.
        if let Some(answer) = self.readiness.answer(request.uri().path(), || self.host.compiling() > 0) {
            return answer;
        }
        let header_bytes: usize =
            request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
        if header_bytes > MAX_HEADER_BYTES {
            return self.refuse(
                "headers-too-large",
                plain(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    &format!("request headers over {MAX_HEADER_BYTES} bytes"),
                ),
            );
        }
        let host = match self.host(request.headers()) {
            Ok(host) => host,
            Err((status, why)) => return self.refuse("host", plain(status, why)),
        };
        let path = request.uri().path();
        if path.strip_prefix(METADATA_PATH).is_some_and(|rest| rest.is_empty() || rest == "/mcp") {
            return self.metadata(&host);
        }
        if path != "/mcp" {
            return self.refuse("path", plain(StatusCode::NOT_FOUND, "not found: MCP is served at /mcp"));
        }
        if request.uri().query().is_some() {
            return self.refuse(
                "query-string",
                plain(
                    StatusCode::BAD_REQUEST,
                    "query strings are refused: credentials and session IDs travel in headers only",
                ),
            );
        }
        // rmcp's answer to an unknown version quotes it (as the 2026-07-28
        // error must): only a version's characters get that far.
        let version = request.headers().get("mcp-protocol-version").map(|v| v.as_bytes());
        if version.is_some_and(|v| !is_version(v)) {
            let why = "the MCP-Protocol-Version header is not a version (at most 32 of A-Z a-z 0-9 . _ -)";
            return self.refuse("protocol-version", plain(StatusCode::BAD_REQUEST, why));
        }
        // The slot is held until the response body ends: a long SSE stream counts.
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            let busy = plain(StatusCode::SERVICE_UNAVAILABLE, "too many requests in flight; retry shortly");
            return self.refuse("requests-in-flight", busy);
        };
        let principal = match self.authenticate(request.headers()).await {
            Ok(principal) => principal,
            Err(refusal) => return self.unauthorized(&host, refusal),
        };
        let Some(principal_slot) = self.principal_slots.try_take(&principal.name) else {
            tracing::warn!(principal = %principal.name, "max_requests_per_principal reached");
            let mut response = plain(
                StatusCode::TOO_MANY_REQUESTS,
                "too many of your requests are in flight; close one first",
            );
            response.headers_mut().insert(header::RETRY_AFTER, 1.into());
            return self.refuse("principal-requests-in-flight", response);
        };
        if let Some(retry_after) = self.rate_limited(&principal).await {
            tracing::warn!(principal = %principal.name, "rate limit reached");
            let mut response = plain(StatusCode::TOO_MANY_REQUESTS, "rate limit reached");
            response.headers_mut().insert(header::RETRY_AFTER, retry_after.into());
            return self.refuse("rate-limit", response);
        }
        let session = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(String::from);
        if let Some(session) = &session {
            let owner = {
                let mut owners = self.owners.lock().expect("owners lock");
                owners.get_mut(session).map(|(owner, last_used)| {
                    *last_used = Instant::now();
                    owner.clone()
                })
            };
            let owner = match (owner, &self.shared_sessions) {
                (None, Some(shared)) => match self.shared_owner(shared, session, &principal.name).await {
                    Some(owner) => Some(owner),
                    None => {
                        return self
                            .refuse("unknown-session", plain(StatusCode::NOT_FOUND, "session not found"));
                    }
                },
                (owner, Some(shared)) => {
                    let (shared, session) = (shared.clone(), session.clone());
                    tokio::spawn(async move { shared.touch(&session).await });
                    owner
                }
                (owner, None) => owner,
            };
            if owner.is_some_and(|owner| owner != principal.name) {
                // Another principal's session is, for this caller, no session at all.
                tracing::warn!(principal = %principal.name, "a session ID of another principal was presented");
                return self.refuse("foreign-session", plain(StatusCode::NOT_FOUND, "session not found"));
            }
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body) {
            let too_large =
                plain(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body over {} bytes", self.max_body));
            return self.refuse("body-too-large", too_large);
        }
        let (mut parts, body) = request.into_parts();
        let body = match self.read_body(body).await {
            Ok(body) => body,
            Err((reason, refusal)) => return self.refuse(reason, refusal),
        };
        let sent_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        // The credential stops here: nothing past the gate sees it.
        parts.headers.remove(header::AUTHORIZATION);
        parts.extensions.insert(principal.clone());
        let request = Request::from_parts(parts, Full::new(body.clone()));
        let mut mcp = self.mcp.clone();
        let response = match tower_service::Service::call(&mut mcp, request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        // rmcp answers a JSON body that is no message with 415 and a line of
        // text; JSON-RPC's answer is a 400 carrying its error.
        if sent_json && response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return self.refuse("not-a-message", not_a_message(&body));
        }
        if let Some(created) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok())
            && session.is_none()
        {
            {
                let mut owners = self.owners.lock().expect("owners lock");
                // Sessions idle longer than the expiry are gone in rmcp too.
                owners.retain(|_, (_, last_used)| last_used.elapsed() < self.session_idle);
                owners.insert(created.to_string(), (principal.name.clone(), Instant::now()));
            }
            // Before the answer: the client's next request may reach another replica.
            if let Some(shared) = &self.shared_sessions
                && let Err(error) = shared.set_owner(created, &principal.name).await
            {
                tracing::warn!(store = %shared.label, error = %format!("{error:#}"), "the session store does not answer; this session is served by this replica only");
            }
        }
        // The slots are held until the response body ends: a long SSE stream counts.
        response.map(|body| Expiring::new(body, self.stream_timeout, (slot, principal_slot)).boxed())
    }

    /// The owner of a session this replica does not know, from the shared
    /// store: the caller when the store says the caller opened it (then
    /// remembered here), someone else (`""`, nobody's name) when it says
    /// another principal did; `None` for a session the store does not know,
    /// knows without an owner (not yet given one by the replica that opened
    /// it), or cannot say anything about.
    async fn shared_owner(&self, shared: &SharedSessions, session: &str, caller: &str) -> Option<String> {
        match shared.opened_by(session, caller).await {
            Ok(Some(true)) => {
                let mut owners = self.owners.lock().expect("owners lock");
                owners.insert(session.to_string(), (caller.to_string(), Instant::now()));
                Some(caller.to_string())
            }
            Ok(Some(false)) => Some(String::new()),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(store = %shared.label, error = %format!("{error:#}"), "the session store does not answer; a session of another replica cannot be restored");
                None
            }
        }
    }

    /// The whole request body, within `max_body` bytes and `body_timeout`.
    async fn read_body(&self, body: Incoming) -> Result<Bytes, (&'static str, Response<Body>)> {
        let read = Limited::new(body, self.max_body as usize).collect();
        match tokio::time::timeout(self.body_timeout, read).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => Err((
                "body-too-large",
                plain(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body over {} bytes", self.max_body)),
            )),
            Ok(Err(error)) => {
                tracing::debug!(%error, "a request body could not be read");
                Err(("body-unreadable", plain(StatusCode::BAD_REQUEST, "the request body could not be read")))
            }
            Err(_) => {
                tracing::warn!("a request body did not arrive within body_timeout");
                let why = format!(
                    "the request body did not arrive within {}",
                    humantime::format_duration(self.body_timeout)
                );
                Err(("body-timeout", plain(StatusCode::REQUEST_TIMEOUT, &why)))
            }
        }
    }

    /// `response`, counted as a refusal for `reason` (`/metrics`).
    fn refuse(&self, reason: &'static str, response: Response<Body>) -> Response<Body> {
        self.host.metrics().refused(reason);
        response
    }

    async fn authenticate(&self, headers: &http::HeaderMap) -> Result<Principal, Refusal> {
        if self.tokens.is_empty() && self.oauth.is_none() {
            return Ok(auth::local_principal());
        }
        let token =
            auth::bearer(headers).map_err(Refusal::Static)?.ok_or(Refusal::Static(auth::Refusal::Missing))?;
        if let Some(principal) = auth::static_principal(&self.tokens, token) {
            return Ok(principal);
        }
        match &self.oauth {
            Some(oauth) => oauth.verify(token).await.map_err(Refusal::OAuth),
            None => Err(Refusal::Static(auth::Refusal::Invalid)),
        }
    }

    async fn rate_limited(&self, principal: &Principal) -> Option<u64> {
        let oauth_rate = self.oauth.as_ref().map_or(DEFAULT_RATE, |o| o.options.rate_per_minute);
        let rate = match self.tokens.iter().find(|t| t.principal == principal.name) {
            Some(token) => token.rate_per_minute,
            None if principal.name.starts_with("oauth:") => oauth_rate,
            None => DEFAULT_RATE,
        };
        self.rates.take(&principal.name, rate).await
    }

    /// The request's `Host`, if it is one of this server's names (the rule
    /// rmcp applies after the gate: the name, and the port if the allowed
    /// entry gives one); else the 403 (400 for a malformed one) that answers it.
    fn host(&self, headers: &http::HeaderMap) -> Result<String, (StatusCode, &'static str)> {
        let Some(value) = headers.get(header::HOST) else {
            return Err((StatusCode::BAD_REQUEST, "a Host header is required"));
        };
        // A name and, if any, a numeric port: nothing else (no user part, no
        // port that is not a number).
        let authority = value
            .to_str()
            .ok()
            .and_then(|text| http::uri::Authority::try_from(text).ok())
            .filter(|a| match a.port_u16() {
                Some(port) => a.as_str() == format!("{}:{port}", a.host()),
                None => a.as_str() == a.host(),
            })
            .ok_or((StatusCode::BAD_REQUEST, "the Host header is not a host name"))?;
        let name = |host: &str| host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let allowed = self.allowed_hosts.iter().any(|allowed| {
            let (host, port) = match http::uri::Authority::try_from(allowed.as_str()) {
                Ok(entry) => (name(entry.host()), entry.port_u16()),
                Err(_) => (name(allowed), None),
            };
            host == name(authority.host()) && port.is_none_or(|port| authority.port_u16() == Some(port))
        });
        if !allowed {
            tracing::warn!(
                "a request naming a host that is not this server's was refused (possible DNS rebinding)"
            );
            return Err((StatusCode::FORBIDDEN, "Forbidden: Host header is not allowed"));
        }
        Ok(authority.as_str().to_string())
    }

    fn resource_url(&self, host: &str) -> String {
        format!("{}://{host}/mcp", self.scheme)
    }

    /// RFC 9728 protected-resource metadata.
    fn metadata(&self, host: &str) -> Response<Body> {
        let mut body = serde_json::json!({
            "resource": self.resource_url(host),
            "bearer_methods_supported": ["header"],
            "resource_name": "moat",
        });
        if let Some(oauth) = &self.oauth {
            body["authorization_servers"] = serde_json::json!([oauth.options.issuer]);
            body["scopes_supported"] = serde_json::json!(oauth.options.scopes);
        }
        let mut response = Response::new(full(body.to_string()));
        response.headers_mut().insert(header::CONTENT_TYPE, "application/json".parse().expect("valid"));
        response
    }

    fn unauthorized(&self, host: &str, refusal: Refusal) -> Response<Body> {
        let metadata = format!("{}{METADATA_PATH}", self.resource_url(host).trim_end_matches("/mcp"));
        let mut challenge = format!("Bearer realm=\"moat\", resource_metadata=\"{metadata}\"");
        let (status, message) = match &refusal {
            Refusal::Static(auth::Refusal::Invalid) | Refusal::OAuth(OAuthRefusal::Invalid(_)) => {
                challenge.push_str(", error=\"invalid_token\"");
                (StatusCode::UNAUTHORIZED, auth::Refusal::Invalid.reason())
            }
            Refusal::OAuth(OAuthRefusal::InsufficientScope) => {
                let scopes = self.oauth.as_ref().map(|o| o.options.scopes.join(" ")).unwrap_or_default();
                challenge.push_str(&format!(", error=\"insufficient_scope\", scope=\"{scopes}\""));
                (StatusCode::FORBIDDEN, "the token lacks a required scope")
            }
            Refusal::Static(other) => (StatusCode::UNAUTHORIZED, other.reason()),
        };
        let detail = match &refusal {
            Refusal::OAuth(OAuthRefusal::Invalid(why)) => why.as_str(),
            _ => message,
        };
        tracing::warn!(reason = detail, "request refused: not authenticated");
        self.host.metrics().refused(if status == StatusCode::FORBIDDEN {
            "scope"
        } else {
            "unauthenticated"
        });
        let mut response = plain(status, message);
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge.parse().expect("valid header"));
        response
    }
}

/// A protocol version's shape, known or not (`2025-11-25`, `v999.0.0`):
/// nothing that could be markup or a second header when it is quoted back.
fn is_version(value: &[u8]) -> bool {
    (1..=32).contains(&value.len())
        && value.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A JSON body that is no JSON-RPC message: 400 with the error JSON-RPC
/// names, saying what and where as for a line over stdio (-32700 for what is
/// not JSON or nests past the bound, -32600 for JSON that is no message).
fn not_a_message(body: &[u8]) -> Response<Body> {
    let body = crate::mcp::stdio::refusal(body);
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(header::CONTENT_TYPE, "application/json".parse().expect("valid"));
    response
}

fn full(text: String) -> Body {
    Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed()
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(full(format!("{text}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, "text/plain; charset=utf-8".parse().expect("valid"));
    response
}

//! Outgoing HTTP (wasi:http): which destinations a component may reach, and
//! the host side of every request it makes.
//!
//! The guest hands a request to the host; [`EgressHooks::send_request`] then:
//! 1. matches scheme, host and port against the grants (else `HTTP-request-denied`);
//! 2. resolves the host itself and refuses loopback, private, link-local and
//!    metadata addresses unless the grant names them (else
//!    `destination-IP-prohibited`), then connects to the very address it
//!    checked, so a DNS answer cannot change between check and use;
//! 3. adds the grant's headers, secrets rendered in, after the guest is done
//!    with the request, so the guest never holds a secret;
//! 4. caps request and response bodies and the exchange time, follows no
//!    redirect (a 3xx goes back to the guest, whose next request is checked
//!    like any other), and hides secret values in what comes back.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full, Limited};
use serde::Deserialize;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, WasiBody, WasiHttpHooks};

use ipnet::IpNet;

use super::addresses::is_public;
use super::secrets::{Redactor, Secrets};

/// `grants.http` entries as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpGrant {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    allow_private: bool,
    /// Non-public networks the name may resolve into (`10.20.0.0/16`), when
    /// a grant must reach a private network but not all of them.
    #[serde(default)]
    allow_networks: Vec<String>,
}

/// The host part of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `api.example.com` (or `localhost`).
    Exact(String),
    /// `*.example.com`: any subdomain, not `example.com` itself.
    Subdomains(String),
    /// An IP literal: naming it grants exactly that address, private or not.
    Ip(IpAddr),
    /// `*` (only as `https://*`): any host whose address is public. A name
    /// resolving to a loopback, private, link-local or metadata address, or
    /// such an address written as the host, is refused like any other.
    AnyPublic,
}

/// One destination a component may send requests to.
#[derive(Debug, Clone)]
pub struct HttpGrant {
    pub https: bool,
    pub host: HostPattern,
    pub port: u16,
    /// Headers the host sets on every request to this destination (templates
    /// with `{SECRET}` references), replacing any the guest set.
    headers: Vec<(HeaderName, String)>,
    secrets_used: Vec<String>,
    /// Whether a host name may resolve to any non-public address.
    allow_private: bool,
    /// The non-public networks a host name may resolve into.
    allow_networks: Vec<IpNet>,
}

impl HttpGrant {
    pub fn from_raw(raw: &RawHttpGrant, secrets: &Secrets) -> Result<HttpGrant> {
        let (scheme, rest) = raw.url.split_once("://").context("`url` must look like https://host[:port]")?;
        let https = match scheme {
            "https" => true,
            "http" => false,
            other => bail!("scheme `{other}` is not allowed: use http or https"),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        ensure!(
            !authority.contains(['/', '?', '#', '@']),
            "`{}`: a grant names a destination (scheme, host, port), not a path or user",
            raw.url
        );
        let (host, port) = split_host_port(authority)?;
        let port = port.unwrap_or(if https { 443 } else { 80 });
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            ensure!(
                https,
                "`{}`: a grant for any host is https only (`https://*`): plain http can be read and changed on the way",
                raw.url
            );
            ensure!(
                !raw.allow_private && raw.allow_networks.is_empty(),
                "`{}`: a grant for any host reaches public addresses only; name a private destination in a grant of its own",
                raw.url
            );
            ensure!(
                raw.headers.is_empty(),
                "`{}`: a grant for any host sets no headers (they would go to every host)",
                raw.url
            );
            HostPattern::AnyPublic
        } else if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            HostPattern::Ip(ip)
        } else if let Some(domain) = host.strip_prefix("*.") {
            validate_hostname(domain)?;
            HostPattern::Subdomains(domain.to_string())
        } else {
            validate_hostname(&host)?;
            HostPattern::Exact(host)
        };
        let mut headers = Vec::new();
        let mut secrets_used = Vec::new();
        for (name, template) in &raw.headers {
            let header = HeaderName::try_from(name.as_str())
                .with_context(|| format!("`{name}` is not a header name"))?;
            secrets_used
                .extend(secrets.check_template(template).with_context(|| format!("header `{name}`"))?);
            headers.push((header, template.clone()));
        }
        let allow_networks = raw
            .allow_networks
            .iter()
            .map(|network| {
                network.parse::<IpNet>().map(|net| net.trunc()).with_context(|| {
                    format!(
                        "allow_networks: `{network}` is not a network (write it as 10.20.0.0/16 or fd00::/8)"
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(HttpGrant {
            https,
            host,
            port,
            headers,
            secrets_used,
            allow_private: raw.allow_private,
            allow_networks,
        })
    }

    pub fn uses_secret(&self, name: &str) -> bool {
        self.secrets_used.iter().any(|used| used == name)
    }

    fn matches(&self, https: bool, host: &str, port: u16) -> bool {
        if self.https != https || self.port != port {
            return false;
        }
        match &self.host {
            HostPattern::Exact(exact) => exact == host,
            HostPattern::Subdomains(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host[..host.len() - domain.len()].ends_with('.')
            }
            HostPattern::Ip(ip) => {
                host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() == Ok(*ip)
            }
            HostPattern::AnyPublic => true,
        }
    }

    /// `https://api.example.com:443 (+ Authorization from secrets GITHUB_TOKEN)`.
    pub fn describe(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let host = match &self.host {
            HostPattern::Exact(host) => host.clone(),
            HostPattern::Subdomains(domain) => format!("*.{domain}"),
            HostPattern::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            HostPattern::Ip(ip) => ip.to_string(),
            HostPattern::AnyPublic => "*".to_string(),
        };
        let mut text = format!("{scheme}://{host}:{}", self.port);
        if self.host == HostPattern::AnyPublic {
            text.push_str(" (any public host)");
        }
        if !self.headers.is_empty() {
            let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
            text.push_str(&format!(" (host adds {})", names.join(", ")));
        }
        if self.allow_private {
            text.push_str(" (private addresses allowed)");
        }
        if !self.allow_networks.is_empty() {
            let networks: Vec<String> = self.allow_networks.iter().map(IpNet::to_string).collect();
            text.push_str(&format!(" (networks {} allowed)", networks.join(", ")));
        }
        text
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').context("unclosed `[` in an IPv6 address")?;
        let after = &rest[end + 1..];
        (&authority[..end + 2], after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = port.map(|p| p.parse::<u16>().with_context(|| format!("`{p}` is not a port"))).transpose()?;
    ensure!(!host.is_empty(), "the destination has no host");
    Ok((host, port))
}

fn validate_hostname(host: &str) -> Result<()> {
    ensure!(
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }),
        "`{host}` is not a host name (wildcards are only allowed as a leading `*.`)"
    );
    Ok(())
}

/// Caps for one request/response exchange.
#[derive(Debug, Clone, Copy)]
pub struct EgressLimits {
    pub request_body: u64,
    pub response_body: u64,
    pub timeout: Duration,
}

/// The host side of a component's wasi:http requests.
pub struct EgressHooks {
    policy: Arc<super::Policy>,
    limits: EgressLimits,
    component: Arc<str>,
}

impl EgressHooks {
    pub fn new(policy: Arc<super::Policy>, limits: EgressLimits, component: Arc<str>) -> Self {
        EgressHooks { policy, limits, component }
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _guest_io: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let policy = self.policy.clone();
        let limits = self.limits;
        let component = self.component.clone();
        Box::new(async move {
            let destination = describe_uri(request.uri());
            match tokio::time::timeout(limits.timeout, send(&policy, limits, request)).await {
                Ok(Ok(response)) => {
                    tracing::info!(component = %component, %destination, status = response.status().as_u16(), "egress");
                    let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                        Box::new(async { Ok(()) });
                    Ok((response, done))
                }
                Ok(Err(refusal)) => {
                    let reason = policy.redactor().redact(&refusal.reason);
                    tracing::warn!(component = %component, %destination, %reason, "egress refused");
                    Err(refusal.code)
                }
                Err(_) => {
                    tracing::warn!(component = %component, %destination, timeout = ?limits.timeout, "egress timed out");
                    Err(HttpError::ConnectionTimeout)
                }
            }
        })
    }
}

fn describe_uri(uri: &http::Uri) -> String {
    format!("{}://{}", uri.scheme_str().unwrap_or("?"), uri.authority().map(|a| a.as_str()).unwrap_or("?"))
}

/// Why a request did not go out: the code the guest gets, the reason the log gets.
struct Refusal {
    code: HttpError,
    reason: String,
}

fn refuse(code: HttpError, reason: impl Into<String>) -> Refusal {
    Refusal { code, reason: reason.into() }
}

async fn send(
    policy: &super::Policy,
    limits: EgressLimits,
    request: http::Request<WasiBody>,
) -> Result<http::Response<WasiBody>, Refusal> {
    let uri = request.uri().clone();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        other => {
            return Err(refuse(
                HttpError::HttpProtocolError,
                format!("scheme {other:?} is not http or https"),
            ));
        }
    };
    let host =
        uri.host().ok_or_else(|| refuse(HttpError::HttpRequestUriInvalid, "no host"))?.to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let grant = policy
        .http
        .iter()
        .find(|g| g.matches(https, &host, port))
        .ok_or_else(|| refuse(HttpError::HttpRequestDenied, "no grant names this destination"))?;

    let address = resolve(grant, &host, port).await?;

    let (mut parts, body) = request.into_parts();
    let body =
        collect_capped(body, limits.request_body, HttpError::HttpRequestBodySize(None), "request body")
            .await?;
    for (name, template) in &grant.headers {
        let value = HeaderValue::from_str(&policy.secrets.render(template))
            .map_err(|_| refuse(HttpError::InternalError(None), "a rendered header is not a valid value"))?;
        parts.headers.insert(name.clone(), value);
    }
    // The request line carries the path only; the host is in the Host header.
    parts.uri = http::Uri::builder()
        .path_and_query(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .build()
        .map_err(|_| refuse(HttpError::HttpRequestUriInvalid, "invalid path"))?;
    if !parts.headers.contains_key(http::header::HOST) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host.as_str());
        let value = HeaderValue::from_str(authority)
            .map_err(|_| refuse(HttpError::HttpRequestUriInvalid, "invalid host"))?;
        parts.headers.insert(http::header::HOST, value);
    }
    let request = http::Request::from_parts(parts, Full::new(body));

    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| refuse(HttpError::ConnectionRefused, format!("cannot connect to {address}: {e}")))?;
    let response = if https {
        let tls = tls_connector()
            .connect(
                rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|_| refuse(HttpError::TlsProtocolError, "invalid TLS server name"))?,
                tcp,
            )
            .await
            .map_err(|e| refuse(HttpError::TlsProtocolError, format!("TLS with {host}: {e}")))?;
        exchange(TokioIo::new(tls), request).await?
    } else {
        exchange(TokioIo::new(tcp), request).await?
    };

    let (parts, body) = response.into_parts();
    let body =
        collect_capped(body, limits.response_body, HttpError::HttpResponseBodySize(None), "response body")
            .await?;
    let redactor: &Redactor = policy.redactor();
    let mut parts = parts;
    if !redactor.is_empty() {
        for value in parts.headers.values_mut() {
            if let Ok(text) = value.to_str() {
                let redacted = redactor.redact(text);
                if redacted != text {
                    *value = HeaderValue::from_str(&redacted).expect("redaction keeps a header value valid");
                }
            }
        }
    }
    let body = if redactor.is_empty() { body } else { Bytes::from(redactor.redact_bytes(&body)) };
    let body: WasiBody = Full::new(body).map_err(|never| match never {}).boxed_unsync();
    Ok(http::Response::from_parts(parts, body))
}

/// Reads a whole body, refusing one larger than `limit` bytes with `too_large`.
async fn collect_capped<B>(body: B, limit: u64, too_large: HttpError, what: &str) -> Result<Bytes, Refusal>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(refuse(too_large, format!("{what} larger than {limit} bytes")))
        }
        Err(error) => Err(refuse(HttpError::HttpProtocolError, format!("{what}: {error}"))),
    }
}

/// Resolves `host` and returns the first address the grant allows.
async fn resolve(grant: &HttpGrant, host: &str, port: u16) -> Result<SocketAddr, Refusal> {
    if let HostPattern::Ip(ip) = grant.host {
        return Ok(SocketAddr::new(ip, port));
    }
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            refuse(
                HttpError::DnsError { rcode: None, info_code: None },
                format!("cannot resolve {host}: {e}"),
            )
        })?
        .collect();
    choose_address(grant, &addresses).ok_or_else(|| {
        refuse(
            HttpError::DestinationIpProhibited,
            format!("{host} resolves only to addresses the grant does not name ({addresses:?})"),
        )
    })
}

/// The address to connect to among those a name resolved to: `localhost` may
/// only be loopback; any other name only public addresses, unless the grant
/// allows private ones. The caller connects to exactly this address.
fn choose_address(grant: &HttpGrant, addresses: &[SocketAddr]) -> Option<SocketAddr> {
    let localhost = grant.host == HostPattern::Exact("localhost".into());
    addresses.iter().copied().find(|address| {
        let ip = address.ip();
        if localhost {
            ip.is_loopback()
        } else {
            grant.allow_private
                || is_public(ip)
                || grant.allow_networks.iter().any(|network| network.contains(&ip))
        }
    })
}

async fn exchange<IO>(
    io: IO,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, Refusal>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| refuse(HttpError::HttpProtocolError, format!("HTTP handshake: {e}")))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "egress connection ended with an error");
        }
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| refuse(HttpError::HttpProtocolError, format!("HTTP exchange: {e}")))
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
        Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(url: &str) -> HttpGrant {
        let raw = RawHttpGrant {
            url: url.into(),
            headers: BTreeMap::new(),
            allow_private: false,
            allow_networks: Vec::new(),
        };
        HttpGrant::from_raw(&raw, &Secrets::default()).unwrap()
    }

    #[test]
    fn any_public_host_is_https_only_and_reaches_public_addresses_only() {
        let any = grant("https://*");
        assert!(any.matches(true, "example.org", 443));
        assert!(any.matches(true, "127.0.0.1", 443), "matched by name; refused by address below");
        assert!(!any.matches(false, "example.org", 80));
        assert!(!any.matches(true, "example.org", 8443));
        let addresses = |list: &[&str]| list.iter().map(|a| a.parse().unwrap()).collect::<Vec<SocketAddr>>();
        assert!(choose_address(&any, &addresses(&["93.184.215.14:443"])).is_some());
        for private in
            ["127.0.0.1:443", "10.0.0.1:443", "169.254.169.254:443", "[::1]:443", "192.168.1.1:443"]
        {
            assert!(choose_address(&any, &addresses(&[private])).is_none(), "{private}");
        }
        assert_eq!(any.describe(), "https://*:443 (any public host)");
        for refused in ["http://*", "https://*.*.", "ftp://*"] {
            let raw = RawHttpGrant {
                url: refused.into(),
                headers: BTreeMap::new(),
                allow_private: false,
                allow_networks: Vec::new(),
            };
            assert!(HttpGrant::from_raw(&raw, &Secrets::default()).is_err(), "{refused}");
        }
        let private = RawHttpGrant {
            url: "https://*".into(),
            headers: BTreeMap::new(),
            allow_private: true,
            allow_networks: Vec::new(),
        };
        assert!(HttpGrant::from_raw(&private, &Secrets::default()).is_err());
    }

    #[test]
    fn grants_match_scheme_host_and_port_exactly() {
        let api = grant("https://api.example.com");
        assert!(api.matches(true, "api.example.com", 443));
        assert!(!api.matches(false, "api.example.com", 80), "scheme");
        assert!(!api.matches(true, "api.example.com", 8443), "port");
        assert!(!api.matches(true, "evil.example.com", 443));
        assert!(!api.matches(true, "api.example.com.evil.net", 443));
        let wildcard = grant("https://*.example.com");
        assert!(wildcard.matches(true, "a.example.com", 443));
        assert!(wildcard.matches(true, "a.b.example.com", 443));
        assert!(!wildcard.matches(true, "example.com", 443), "the bare domain is not a subdomain");
        assert!(!wildcard.matches(true, "badexample.com", 443));
        let local = grant("http://127.0.0.1:8080");
        assert!(local.matches(false, "127.0.0.1", 8080));
        assert!(grant("http://[::1]:9000").matches(false, "[::1]", 9000));
    }

    #[test]
    fn names_resolving_to_private_addresses_are_refused_unless_granted() {
        let addresses =
            |list: &[&str]| -> Vec<SocketAddr> { list.iter().map(|a| a.parse().unwrap()).collect() };
        let api = grant("https://api.example.com");
        // DNS rebinding: a granted name that now points inside the network.
        assert_eq!(choose_address(&api, &addresses(&["127.0.0.1:443"])), None);
        assert_eq!(choose_address(&api, &addresses(&["169.254.169.254:443", "10.0.0.1:443"])), None);
        assert_eq!(
            choose_address(&api, &addresses(&["10.0.0.1:443", "93.184.216.34:443"])),
            Some("93.184.216.34:443".parse().unwrap()),
            "the public address is the one connected to"
        );
        let raw = RawHttpGrant {
            url: "https://intranet.corp".into(),
            headers: BTreeMap::new(),
            allow_private: true,
            allow_networks: Vec::new(),
        };
        let intranet = HttpGrant::from_raw(&raw, &Secrets::default()).unwrap();
        assert!(choose_address(&intranet, &addresses(&["10.0.0.1:443"])).is_some(), "allow_private names it");
        // One private network granted: the others stay out of reach.
        let raw = RawHttpGrant {
            url: "https://build.corp".into(),
            headers: BTreeMap::new(),
            allow_private: false,
            allow_networks: vec!["10.20.0.0/16".into(), "fd00:20::/32".into()],
        };
        let build = HttpGrant::from_raw(&raw, &Secrets::default()).unwrap();
        assert!(
            choose_address(&build, &addresses(&["10.20.3.4:443"])).is_some(),
            "inside the granted network"
        );
        assert!(choose_address(&build, &addresses(&["[fd00:20::5]:443"])).is_some());
        for outside in
            ["10.21.0.1:443", "192.168.1.1:443", "127.0.0.1:443", "169.254.169.254:443", "[fd00:21::5]:443"]
        {
            assert_eq!(
                choose_address(&build, &addresses(&[outside])),
                None,
                "{outside} is outside the grant"
            );
        }
        assert!(
            build.describe().ends_with("(networks 10.20.0.0/16, fd00:20::/32 allowed)"),
            "{}",
            build.describe()
        );
        let localhost = grant("http://localhost:8080");
        assert!(choose_address(&localhost, &addresses(&["127.0.0.1:8080"])).is_some());
        assert_eq!(
            choose_address(&localhost, &addresses(&["10.0.0.1:8080"])),
            None,
            "localhost means loopback only"
        );
    }

    #[test]
    fn malformed_grants_are_errors() {
        for url in [
            "ftp://x.com",
            "https://x.com/path",
            "x.com",
            "https://user@x.com",
            "https://a.*.com",
            "https://x.com:99999",
        ] {
            let raw = RawHttpGrant {
                url: url.into(),
                headers: BTreeMap::new(),
                allow_private: false,
                allow_networks: Vec::new(),
            };
            assert!(HttpGrant::from_raw(&raw, &Secrets::default()).is_err(), "{url}");
        }
        for network in ["10.0.0.0", "10.0.0.0/33", "corp", "fd00::/129"] {
            let raw = RawHttpGrant {
                url: "https://x.com".into(),
                headers: BTreeMap::new(),
                allow_private: false,
                allow_networks: vec![network.into()],
            };
            let error = format!("{:#}", HttpGrant::from_raw(&raw, &Secrets::default()).unwrap_err());
            assert!(error.contains("allow_networks") && error.contains(network), "{network}: {error}");
        }
    }
}

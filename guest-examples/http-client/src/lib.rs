//! A small blocking HTTP client over wasi:http, shared by the example tools.
//! The host decides what is reachable; this only speaks the interface.

use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// A response, body read in full.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Largest body read, as a guard (the host caps responses too).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Sends a GET to `url` (`http://` or `https://`) with `headers`.
pub fn get(url: &str, headers: &[(String, String)]) -> Result<Response, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(format!("unsupported scheme `{other}`")),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let fields = Fields::new();
    for (name, value) in headers {
        fields.append(name, value.as_bytes()).map_err(|e| format!("header `{name}`: {e:?}"))?;
    }
    let request = OutgoingRequest::new(fields);
    request.set_method(&Method::Get).map_err(|()| "cannot set the method")?;
    request.set_scheme(Some(&scheme)).map_err(|()| "cannot set the scheme")?;
    request.set_authority(Some(authority)).map_err(|()| format!("invalid authority `{authority}`"))?;
    request.set_path_with_query(Some(path)).map_err(|()| format!("invalid path `{path}`"))?;
    let body = request.body().map_err(|()| "cannot take the request body")?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("request refused: {e:?}"))?;
    OutgoingBody::finish(body, None).map_err(|e| format!("request body: {e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response")?
        .map_err(|()| "response already taken")?
        .map_err(|e| format!("request failed: {e:?}"))?;
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let incoming = response.consume().map_err(|()| "cannot read the body")?;
    let stream = incoming.stream().map_err(|()| "cannot read the body")?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("reading the body: {}", e.to_debug_string()));
            }
        }
        if body.len() > MAX_BODY {
            return Err(format!("the body is larger than {MAX_BODY} bytes"));
        }
    }
    Ok(Response { status, headers, body })
}

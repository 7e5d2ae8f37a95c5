//! What an operator's tools ask a running moat: `/healthz` (the process
//! answers) and `/readyz` (it takes requests: not while it drains, nor while
//! components are still being compiled after start-up), answered
//! on the MCP bind before any other check, without authentication and with
//! nothing in them but one word; and `/metrics`, the Prometheus text, on a
//! bind of its own (`[server] metrics`), never on the MCP bind, so that what
//! it tells (tool names and counts) reaches only the network it is bound to.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;

use super::Body;
use crate::served::Host;

pub const HEALTH_PATH: &str = "/healthz";
pub const READY_PATH: &str = "/readyz";

/// Whether the server takes requests; false once it drains.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
}

impl Readiness {
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// The answer to `/healthz` or `/readyz`, if `path` is one of them;
    /// `compiling` says whether components are still being compiled after
    /// start-up (their calls would wait: a load balancer should send them
    /// to a replica that is ready).
    pub fn answer(&self, path: &str, compiling: impl FnOnce() -> bool) -> Option<Response<Body>> {
        let (status, word) = match path {
            HEALTH_PATH => (StatusCode::OK, "ok"),
            READY_PATH if self.draining.load(Ordering::SeqCst) => {
                (StatusCode::SERVICE_UNAVAILABLE, "draining")
            }
            READY_PATH if compiling() => (StatusCode::SERVICE_UNAVAILABLE, "compiling"),
            READY_PATH => (StatusCode::OK, "ready"),
            _ => return None,
        };
        Some(text(status, word, "text/plain; charset=utf-8"))
    }
}

fn text(status: StatusCode, body: &str, content_type: &'static str) -> Response<Body> {
    let mut response =
        Response::new(Full::new(Bytes::from(body.to_string())).map_err(|n| match n {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}

/// Serves `GET /metrics` on `bind` until `stop` resolves.
pub async fn serve_metrics(host: Arc<Host>, bind: SocketAddr, stop: impl Future<Output = ()>) -> Result<()> {
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("[server] metrics: cannot listen on {bind}"))?;
    tracing::info!(url = %format!("http://{}/metrics", listener.local_addr()?), "serving metrics");
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "metrics: accept failed");
                    continue;
                }
            },
            () = &mut stop => return Ok(()),
        };
        let host = host.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let host = host.clone();
                async move {
                    Ok::<_, Infallible>(match (request.method(), request.uri().path()) {
                        (&http::Method::GET, "/metrics") => text(
                            StatusCode::OK,
                            &host.metrics_text(),
                            "text/plain; version=0.0.4; charset=utf-8",
                        ),
                        _ => {
                            text(StatusCode::NOT_FOUND, "not found: metrics are at /metrics\n", "text/plain")
                        }
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

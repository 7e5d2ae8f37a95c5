//! What one call's guest can reach: the WASI context, wasi:http, its captured
//! output, its notices for the client and the resource limiter, all fresh per call.
//!
//! Deny by default, then exactly the component's [`Policy`]: without grants no
//! preopened directories, no environment, no arguments, stdin closed, no TCP or
//! UDP, no name lookup, every socket address and HTTP destination refused. Every
//! network switch is set explicitly rather than relying on a default. Guest stdout
//! and stderr go to capped in-memory buffers, never to the host's stdout (which
//! belongs to the MCP protocol).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::notices::{NoticeRoute, NoticeSink};
use crate::limits::{LimitExceeded, Limits};
use crate::policy::Policy;
use crate::policy::egress::{EgressHooks, EgressLimits};

/// The store data of one call.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    egress: EgressHooks,
    pub limiter: CallLimiter,
    pub notices: NoticeSink,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.egress }
    }
}

impl CallState {
    /// A sandbox that grants exactly what `policy` grants and nothing else,
    /// with output captured into `stdout`/`stderr` and notices for the
    /// client sent along `notices`.
    pub fn new(
        limits: &Limits,
        policy: &Arc<Policy>,
        component: &Arc<str>,
        stdout: &CapturedOutput,
        stderr: &CapturedOutput,
        notices: Option<NoticeRoute>,
    ) -> anyhow::Result<CallState> {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            // A file operation of the guest runs on the thread running the
            // call, not handed to tokio's blocking pool and back: each hand-off
            // cost tens of microseconds, several times a call for a tool that
            // reads a file (BENCHMARKS.md, the catalog against the originals).
            // Local file operations are short; the call's own wall-clock limit
            // still ends it between them.
            .allow_blocking_current_thread(true);
        policy.apply(&mut wasi)?;
        let egress_limits = EgressLimits {
            request_body: limits.http_request_body,
            response_body: limits.http_response_body,
            timeout: limits.http_timeout,
        };
        Ok(CallState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            egress: EgressHooks::new(policy.clone(), egress_limits, component.clone()),
            limiter: CallLimiter::new(limits),
            notices: NoticeSink::new(notices, limits),
        })
    }
}

/// Guest output kept up to a cap; the rest is counted and dropped without
/// failing the guest (a chatty tool is not a broken tool).
#[derive(Clone, Debug)]
pub struct CapturedOutput(Arc<Mutex<Capture>>);

#[derive(Debug, Default)]
struct Capture {
    kept: Vec<u8>,
    dropped: u64,
    cap: usize,
}

impl CapturedOutput {
    pub fn new(cap: u64) -> Self {
        CapturedOutput(Arc::new(Mutex::new(Capture {
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            ..Default::default()
        })))
    }

    fn push(&self, bytes: &[u8]) {
        let mut capture = self.0.lock().expect("capture lock");
        let room = capture.cap.saturating_sub(capture.kept.len());
        let keep = bytes.len().min(room);
        capture.kept.extend_from_slice(&bytes[..keep]);
        capture.dropped += (bytes.len() - keep) as u64;
    }

    /// What was kept, and how many bytes were dropped past the cap.
    pub fn contents(&self) -> (Vec<u8>, u64) {
        let capture = self.0.lock().expect("capture lock");
        (capture.kept.clone(), capture.dropped)
    }
}

/// How much a guest may hand over in one write; writes are always accepted.
const WRITE_PERMIT: usize = 64 * 1024;

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Enforces the memory, table and instance limits of one call, and remembers
/// which one tripped so the error can name it.
pub struct CallLimiter {
    memory_limit: u64,
    memory_in_use: u64,
    table_elements: u64,
    instances: u32,
    tables: u32,
    memories: u32,
    /// The last growth refused, for the error message.
    pub tripped: Option<LimitExceeded>,
}

impl CallLimiter {
    fn new(limits: &Limits) -> Self {
        CallLimiter {
            memory_limit: limits.memory,
            memory_in_use: 0,
            table_elements: limits.table_elements,
            instances: limits.instances,
            tables: limits.tables,
            memories: limits.memories,
            tripped: None,
        }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let requested = self.memory_in_use - current as u64 + desired as u64;
        if requested > self.memory_limit {
            // Refuse the growth (memory.grow returns -1, as the guest's allocator
            // expects) and remember why, so the trap that follows is explained.
            self.tripped = Some(LimitExceeded::Memory { limit: self.memory_limit, requested });
            return Ok(false);
        }
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        self.memory_in_use = requested;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.table_elements {
            self.tripped =
                Some(LimitExceeded::TableElements { limit: self.table_elements, requested: desired as u64 });
            return Ok(false);
        }
        Ok(maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        self.instances as usize
    }
    fn tables(&self) -> usize {
        self.tables as usize
    }
    fn memories(&self) -> usize {
        self.memories as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_head_and_counts_the_rest() {
        let out = CapturedOutput::new(4);
        out.push(b"abc");
        out.push(b"defgh");
        assert_eq!(out.contents(), (b"abcd".to_vec(), 4));
    }

    #[test]
    fn memory_limit_counts_every_memory_and_names_itself() {
        let mut limiter = CallLimiter::new(&Limits { memory: 100, ..Limits::default() });
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        assert!(limiter.memory_growing(0, 30, None).unwrap(), "a second memory fits");
        assert!(!limiter.memory_growing(60, 80, None).unwrap(), "60+30 → 80+30 exceeds 100");
        assert_eq!(limiter.tripped, Some(LimitExceeded::Memory { limit: 100, requested: 110 }));
    }
}

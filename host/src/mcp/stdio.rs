//! MCP over stdio, one JSON-RPC message per line, as rmcp's transport with
//! the answer JSON-RPC asks for a line that is not a message: rmcp's own
//! drops such a line, and a client waiting for the answer waits forever.
//!
//! Owns: reading lines of at most [`MAX_LINE_BYTES`], answering one that is
//! not UTF-8 or not JSON (or nests deeper than serde_json's limit of 128)
//! with `-32700` and one that is JSON but no message with `-32600`, each
//! saying what and where, with the request's id when it has one; and writing
//! each message out whole. Nothing else is ever written to stdout.
//!
//! The streams are rmcp's `stdio_pipes`: when a client starts moat with
//! pipes (as clients do), they run on the IO reactor rather than tokio's
//! blocking pool, which saves a hand-off between threads on every line read
//! and every message written.

use std::borrow::Cow;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;
use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::{StdioReader, StdioWriter, stdio_pipes};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, FramedRead};

use crate::bounds::{MAX_JSON_DEPTH, MAX_LINE_BYTES, size};

/// stdin and stdout as an rmcp transport.
pub struct Stdio {
    lines: FramedRead<StdioReader, AnyDelimiterCodec>,
    out: Arc<Mutex<StdioWriter>>,
}

impl Stdio {
    /// Must be called inside the tokio runtime (the pipes register with its
    /// reactor).
    pub fn new() -> Stdio {
        let (stdin, stdout) = stdio_pipes();
        Stdio {
            lines: FramedRead::new(
                stdin,
                AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), MAX_LINE_BYTES),
            ),
            out: Arc::new(Mutex::new(stdout)),
        }
    }
}

impl Default for Stdio {
    fn default() -> Self {
        Stdio::new()
    }
}

/// Writes `line` and a newline to `out`, flushed, under its lock (so that
/// messages never interleave).
async fn write_line(out: &Mutex<StdioWriter>, mut line: Vec<u8>) -> std::io::Result<()> {
    line.push(b'\n');
    let mut out = out.lock().await;
    out.write_all(&line).await?;
    out.flush().await
}

/// One line read from stdin: the message it holds, or the JSON-RPC error
/// that answers it.
pub fn message_of(line: &[u8]) -> Result<RxJsonRpcMessage<RoleServer>, Value> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|line| serde_json::from_str::<RxJsonRpcMessage<RoleServer>>(line).ok())
        .ok_or_else(|| refusal(line))
}

/// What a line (or an HTTP body) that is not a message gets: the JSON-RPC
/// error object, saying what is wrong and where.
pub fn refusal(line: &[u8]) -> Value {
    let line = match std::str::from_utf8(line) {
        Ok(line) => line,
        Err(error) => {
            let message = format!("Parse error: the message is not UTF-8 ({error})");
            return json!({ "jsonrpc": "2.0", "id": null, "error": { "code": -32700, "message": message } });
        }
    };
    let (code, message, id) = match serde_json::from_str::<Value>(line) {
        Err(error) if error.to_string().starts_with("recursion limit exceeded") => (
            -32700,
            format!(
                "Parse error: the message nests deeper than {MAX_JSON_DEPTH} levels, moat's bound ({error})"
            ),
            Value::Null,
        ),
        Err(error) => (-32700, format!("Parse error: {error}"), Value::Null),
        Ok(value) => {
            let id =
                value.get("id").filter(|id| id.is_string() || id.is_number()).cloned().unwrap_or(Value::Null);
            let why = match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value) {
                Err(error) => error.to_string(),
                Ok(_) => "not a message moat can read".to_string(),
            };
            (-32600, format!("Invalid Request: {why}"), id)
        }
    };
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

impl Transport<RoleServer> for Stdio {
    type Error = std::io::Error;

    fn name() -> Cow<'static, str> {
        "stdio".into()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        async move { write_line(&out, serde_json::to_vec(&item).map_err(std::io::Error::other)?).await }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let line = match poll_fn(|cx| Pin::new(&mut self.lines).poll_next(cx)).await? {
                Ok(line) => line,
                Err(AnyDelimiterCodecError::MaxChunkLengthExceeded) => {
                    tracing::warn!(
                        max = MAX_LINE_BYTES,
                        "stdio: a line longer than the most moat reads, answered -32600"
                    );
                    let message = format!(
                        "Invalid Request: the message is longer than {}, moat's bound",
                        size(MAX_LINE_BYTES as u64)
                    );
                    let error = json!({ "jsonrpc": "2.0", "id": null, "error": { "code": -32600, "message": message } });
                    write_line(&self.out, error.to_string().into_bytes()).await.ok()?;
                    continue;
                }
                Err(AnyDelimiterCodecError::Io(error)) => {
                    tracing::warn!(%error, "stdio: reading stdin failed; the session ends");
                    return None;
                }
            };
            if line.trim_ascii().is_empty() {
                continue;
            }
            match message_of(&line) {
                Ok(message) => return Some(message),
                Err(error) => {
                    tracing::warn!(error = %error["error"]["message"], "stdio: a line that is no message, answered");
                    write_line(&self.out, error.to_string().into_bytes()).await.ok()?;
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.out.lock().await.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn a_line_that_is_no_message_gets_the_error_json_rpc_names() {
        let broken = refusal(br#"{"jsonrpc":"2.0","id":4,"method":"tools/list""#);
        assert_eq!(broken["error"]["code"], -32700);
        assert_eq!(broken["id"], serde_json::Value::Null);
        assert!(broken["error"]["message"].as_str().unwrap().contains("line 1 column"), "{broken}");

        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"x","params":{}{}}}"#,
            "[".repeat(500),
            "]".repeat(500)
        );
        let deep = refusal(deep.as_bytes());
        assert_eq!(deep["error"]["code"], -32700);
        assert!(deep["error"]["message"].as_str().unwrap().contains("deeper than 128 levels"), "{deep}");

        let no_message = refusal(br#"{"id": 7, "hello": "world"}"#);
        assert_eq!(no_message["error"]["code"], -32600);
        assert_eq!(no_message["id"], 7);

        let not_utf8 = refusal(b"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"\xff\"}");
        assert_eq!(not_utf8["error"]["code"], -32700);
        assert!(not_utf8["error"]["message"].as_str().unwrap().contains("not UTF-8"), "{not_utf8}");
    }
}

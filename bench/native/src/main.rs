//! The native baseline of the benchmarks: the same three tools as the `bench`
//! component (`bench.add`, `bench.sha256`, `bench.transform`), compiled natively
//! and served by rmcp over stdio (or Streamable HTTP with `--http ADDR`), with the same schemas, the same argument
//! checking (serde, unknown fields refused) and the same result shape, but no
//! sandbox. What moat adds on top of this is the cost of isolation.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The same allocator as the moat binary, so that the baseline stays the floor
/// and the ratios measure the sandbox, not the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone)]
struct Baseline {
    tools: Arc<Vec<Tool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    a: i64,
    b: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataArgs {
    data: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentArgs {
    document: String,
}

fn object(value: Value) -> Arc<Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("schemas are objects"),
    }
}

fn tool(name: &'static str, description: &'static str, properties: Value, result: Value) -> Tool {
    let required: Vec<&String> = properties.as_object().unwrap().keys().collect();
    let input = json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false});
    let output = json!({"type": "object", "properties": {"result": result}, "required": ["result"], "additionalProperties": false});
    Tool::new(name, description, object(input)).with_raw_output_schema(object(output))
}

fn tools() -> Vec<Tool> {
    let int = json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX});
    vec![
        tool("bench.add", "Adds two integers.", json!({"a": int, "b": int}), int.clone()),
        tool(
            "bench.sha256",
            "SHA-256 of the text's UTF-8 bytes, as lower-case hex.",
            json!({"data": {"type": "string"}}),
            json!({"type": "string"}),
        ),
        tool(
            "bench.transform",
            "Keeps the records scoring above 50, highest first, names upper-cased.",
            json!({"document": {"type": "string"}}),
            json!({"type": "string"}),
        ),
    ]
}

fn parse<T: serde::de::DeserializeOwned>(args: Option<Map<String, Value>>) -> Result<T, String> {
    serde_json::from_value(Value::Object(args.unwrap_or_default()))
        .map_err(|e| format!("invalid arguments: {e}"))
}

fn run(name: &str, args: Option<Map<String, Value>>) -> Option<Result<Value, String>> {
    Some(match name {
        "bench.add" => parse::<AddArgs>(args).map(|a| json!(bench_tools::add(a.a, a.b))),
        "bench.sha256" => parse::<DataArgs>(args).map(|a| json!(bench_tools::sha256(&a.data))),
        "bench.transform" => {
            parse::<DocumentArgs>(args).and_then(|a| bench_tools::transform(&a.document)).map(Value::String)
        }
        _ => return None,
    })
}

impl ServerHandler for Baseline {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("moat-native-baseline", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(outcome) = run(&request.name, request.arguments) else {
            return Err(McpError::invalid_params(format!("unknown tool `{}`", request.name), None));
        };
        let result = match outcome {
            Ok(value) => {
                let text = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(json!({ "result": value }));
                result
            }
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        Ok(result.into())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Baseline { tools: Arc::new(tools()) };
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, address] = args.as_slice()
        && flag == "--http"
    {
        return serve_http(server, address).await;
    }
    let service = server.serve(rmcp::transport::io::stdio_pipes()).await?;
    service.waiting().await?;
    Ok(())
}

/// Streamable HTTP at http://ADDRESS/mcp, with rmcp's defaults (sessions,
/// SSE responses), as moat serves it but without moat's gate.
async fn serve_http(server: Baseline, address: &str) -> Result<(), Box<dyn std::error::Error>> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind(address).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        // As moat does: without it, Nagle's algorithm holds SSE answers back ~40 ms.
        stream.set_nodelay(true)?;
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

//! The MCP face of the host, through rmcp: tools/list and tools/call over any
//! rmcp transport (stdio today).
//!
//! Keeps MCP's two kinds of failure apart: a request that names no tool is a
//! JSON-RPC error; a call that ran (or was refused for its arguments, which MCP
//! 2025-11-25 asks to report as a tool error so the model can correct itself)
//! is a result with `isError`. Internal error text never reaches the client.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::host::{CallOutcome, Host};
use crate::runtime::CallFailure;
use crate::tools::ToolDef;

/// Who calls over stdio: the local client that started moat.
pub const STDIO_PRINCIPAL: &str = "stdio";

/// The rmcp handler serving a [`Host`].
#[derive(Clone)]
pub struct McpServer {
    host: Arc<Host>,
    /// tools/list, built once: the tool set never changes while serving.
    tools: Arc<Vec<Tool>>,
}

impl McpServer {
    pub fn new(host: Arc<Host>) -> Self {
        let tools = host.tools().map(mcp_tool).collect();
        McpServer { host, tools: Arc::new(tools) }
    }
}

/// A tool definition in rmcp's model.
pub fn mcp_tool(def: &ToolDef) -> Tool {
    let mut tool = Tool::new_with_raw(
        def.name.clone(),
        Some(def.description.clone().into()),
        Arc::new(def.input_schema.clone()),
    );
    if let Some(output) = &def.output_schema {
        tool = tool.with_raw_output_schema(Arc::new(output.clone()));
    }
    if let Some(title) = &def.title {
        tool = tool.with_title(title.clone());
    }
    let hints = def.hints;
    if !hints.is_empty() {
        tool = tool.with_annotations(ToolAnnotations::from_raw(
            None,
            hints.read_only,
            hints.destructive,
            hints.idempotent,
            hints.open_world,
        ));
    }
    tool
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("moat", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Tools served by moat run as sandboxed WebAssembly components: they can reach only what the user's policy grants."
                .into(),
        );
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
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(outcome) =
            self.host.call(STDIO_PRINCIPAL, &request.name, request.arguments.as_ref(), &context.ct).await
        else {
            return Err(McpError::invalid_params(format!("unknown tool `{}`", request.name), None));
        };
        let result = match outcome {
            CallOutcome::Success { text, structured } => {
                let content = if text.is_empty() { vec![] } else { vec![ContentBlock::text(text)] };
                let mut result = CallToolResult::success(content);
                result.structured_content = structured;
                result
            }
            CallOutcome::ToolError(text) => CallToolResult::error(vec![ContentBlock::text(text)]),
            CallOutcome::InvalidArguments(error) => {
                CallToolResult::error(vec![ContentBlock::text(format!("invalid arguments: {error}"))])
            }
            CallOutcome::Failed(CallFailure::Internal(_)) => CallToolResult::error(vec![ContentBlock::text(
                "the call failed because of an internal error in the host (see the host's log)",
            )]),
            CallOutcome::Failed(failure) => {
                CallToolResult::error(vec![ContentBlock::text(format!("moat stopped the call: {failure}"))])
            }
        };
        Ok(result.into())
    }
}

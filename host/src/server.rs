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

/// Who is calling, as the HTTP layer authenticated it (an extension of the
/// request's `http::request::Parts`). Over stdio there is none: the caller
/// is [`STDIO_PRINCIPAL`] and may call everything.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    /// Tool name patterns this principal may see and call (`text.*`, `*`).
    pub tools: Arc<Vec<String>>,
}

impl Principal {
    pub fn may_call(&self, tool: &str) -> bool {
        self.tools.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => tool.starts_with(prefix),
            None => pattern == tool,
        })
    }
}

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

/// The principal of a request: the one the HTTP layer attached, if any.
fn principal_of(context: &RequestContext<RoleServer>) -> Option<Principal> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = match principal_of(&context) {
            Some(principal) => self.tools.iter().filter(|t| principal.may_call(&t.name)).cloned().collect(),
            None => self.tools.as_ref().clone(),
        };
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let principal = principal_of(&context);
        // A tool the caller may not call is indistinguishable from no tool.
        if principal.as_ref().is_some_and(|p| !p.may_call(&request.name)) {
            return Err(McpError::invalid_params(format!("unknown tool `{}`", request.name), None));
        }
        let name = principal.as_ref().map_or(STDIO_PRINCIPAL, |p| p.name.as_str());
        let Some(outcome) =
            self.host.call(name, &request.name, request.arguments.as_ref(), &context.ct).await
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

//! The MCP face of the host, through rmcp: tools, resources (list, read,
//! templates, subscribe), prompts and logging/setLevel over any rmcp
//! transport (stdio, Streamable HTTP).
//!
//! While a call runs, its guest's log messages and progress reports
//! ([`crate::runtime::notices`]) are sent to the client as
//! `notifications/message` and `notifications/progress`, each scanned like
//! the result; all of them go out before the result. Output scanning's
//! findings precede (or replace) the result as a marked text block.
//!
//! Keeps MCP's two kinds of failure apart: a request that names no tool is a
//! JSON-RPC error; a call that ran (or was refused for its arguments, which MCP
//! 2025-11-25 asks to report as a tool error so the model can correct itself)
//! is a result with `isError`. Internal error text never reaches the client.

#![allow(deprecated)] // MCP logging: deprecated by SEP-2577 for later protocol versions, still served.

use std::sync::{Arc, Mutex};

use rmcp::model::{
    Annotations, CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams,
    CompleteResult, CompletionInfo, ContentBlock, ErrorCode, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, Implementation, InputRequiredResult, InputResponses, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, MetaObject, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, Prompt, PromptMessage, PromptsCapability, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Reference, Resource, ResourceTemplate, ResourcesCapability,
    Role, ServerCapabilities, ServerConfig, SetLevelRequestParams, SubscribeRequestParams,
    SubscriptionFilter, TextContent, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::confirm::{self, Confirmed};
use super::questions;
use super::rounds::{Binding, Confirmation, Rounds};
use crate::call::{CallOutcome, CompleteOutcome, Completing, ReadOutcome};
use crate::content::{self, Block, Body, Kind, Output, ResourceContents};
use crate::findings::Finding;
use crate::prompts::PromptDef;
use crate::resources::{ResourceDef, TemplateDef};
use crate::runtime::CallFailure;
use crate::runtime::asks::{Ask, Declared};
use crate::runtime::notices::{Level, Notice, NoticeRoute};
use crate::scan::{self, ScanAction};
use crate::served::Host;
use crate::telemetry::{Operation, Request as TracedRequest};
use crate::tools::mcp_tool;

/// Log messages at this level and above reach a client that never sent
/// `logging/setLevel`.
pub const DEFAULT_LOG_LEVEL: Level = Level::Info;

/// How long one notice may wait for the transport; past it the notice is
/// dropped rather than holding the call's result back (a client that stopped
/// reading, or a closed stdin).
const NOTICE_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

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

/// The ends of a request's [`NoticeRoute`] the handler drains.
struct Channels {
    notices: mpsc::UnboundedReceiver<Notice>,
    questions: mpsc::UnboundedReceiver<Ask>,
}

/// How a request's questions are answered.
enum Answering {
    /// Asked of the client as they come (2025-11-25 and earlier).
    Live,
    /// Answered from the request's state and responses, the rest asked in
    /// the result (2026-07-28, [`super::rounds`]).
    Rounds(Box<Rounds>),
}

impl Answering {
    /// The answering of a request, by its protocol version; a request
    /// state that fails its check is an error.
    fn of(
        context: &RequestContext<RoleServer>,
        binding: &Binding<'_>,
        state: Option<&str>,
        responses: Option<InputResponses>,
    ) -> Result<Answering, McpError> {
        if !is_stateless_era(context) {
            return Ok(Answering::Live);
        }
        Ok(Answering::Rounds(Box::new(Rounds::open(
            binding,
            state,
            responses,
            context.client_capabilities(),
        )?)))
    }

    /// What a 2026-07-28 run that did not finish answers instead of a
    /// result: the input-required result of a run that stopped for
    /// answers, or MCP's missing-capability error (`-32021`, HTTP 400) of
    /// one that needs what the client did not declare. `None` otherwise.
    fn input_required(
        self,
        binding: &Binding<'_>,
        outcome: &CallOutcome,
    ) -> Option<Result<InputRequiredResult, McpError>> {
        match (self, outcome) {
            (Answering::Rounds(rounds), CallOutcome::Failed(CallFailure::Suspended)) => {
                Some(rounds.input_required(binding))
            }
            (Answering::Rounds(_), CallOutcome::Failed(failure @ CallFailure::Undeclared(names))) => {
                let required: Map<String, Value> =
                    names.iter().map(|name| (name.to_string(), json!({}))).collect();
                Some(Err(McpError::new(
                    ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
                    failure.to_string(),
                    Some(json!({ "requiredCapabilities": required })),
                )))
            }
            _ => None,
        }
    }
}

/// Whether the request speaks 2026-07-28 or later, where a server may not
/// send requests and the client's context comes with each request.
fn is_stateless_era(context: &RequestContext<RoleServer>) -> bool {
    context.protocol_version().is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
}

/// The rmcp handler serving a [`Host`].
#[derive(Clone)]
pub struct McpServer {
    host: Arc<Host>,
    /// The lists, built once: the served set never changes while serving.
    tools: Arc<Vec<Tool>>,
    resources: Arc<Vec<Resource>>,
    templates: Arc<Vec<ResourceTemplate>>,
    prompts: Arc<Vec<Prompt>>,
    /// The client's `logging/setLevel`, per session (one server per session).
    log_level: Arc<Mutex<Level>>,
}

impl McpServer {
    pub fn new(host: Arc<Host>) -> Self {
        let tools = host.tools().map(mcp_tool).collect();
        let resources = host.resources().map(ResourceDef::mcp).collect();
        let templates = host.templates().map(TemplateDef::mcp).collect();
        let prompts = host.prompts().map(PromptDef::mcp).collect();
        McpServer {
            host,
            tools: Arc::new(tools),
            resources: Arc::new(resources),
            templates: Arc::new(templates),
            prompts: Arc::new(prompts),
            log_level: Arc::new(Mutex::new(DEFAULT_LOG_LEVEL)),
        }
    }

    fn log_level(&self) -> Level {
        *self.log_level.lock().expect("log level lock")
    }

    /// A tools/call: the host's call, its notices forwarded and its
    /// questions answered as they come.
    async fn call(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let principal = principal_of(&context);
        // A tool the caller may not call is indistinguishable from no tool.
        if principal.as_ref().is_some_and(|p| !p.may_call(&request.name)) {
            return Err(McpError::invalid_params(format!("unknown tool `{}`", request.name), None));
        }
        let name = principal.as_ref().map_or(STDIO_PRINCIPAL, |p| p.name.as_str());
        let tool = request.name.as_ref();
        let arguments = request.arguments.as_ref();
        let binding = Binding { principal: name, method: "tools/call", name: tool, arguments };
        let mut answering = Answering::of(
            &context,
            &binding,
            request.request_state.as_deref(),
            request.input_responses.take(),
        )?;
        if self.host.needs_confirmation(tool) {
            let refused = match &mut answering {
                Answering::Live => match confirm::ask(&self.host, &context, tool, arguments).await {
                    Confirmed::Yes => None,
                    Confirmed::No(reason) => Some(reason),
                },
                Answering::Rounds(rounds) => {
                    match rounds.confirm(&binding, &self.host, confirm::question(&self.host, tool, arguments))
                    {
                        Confirmation::Confirmed => None,
                        Confirmation::Refused(reason) => Some(reason),
                        Confirmation::Ask(result) => return Ok(CallToolResponse::InputRequired(result)),
                    }
                }
            };
            if let Some(reason) = refused {
                let outcome = self.host.not_confirmed(name, tool, arguments, reason);
                let outcome = outcome
                    .ok_or_else(|| McpError::invalid_params(format!("unknown tool `{tool}`"), None))?;
                return Ok(call_result(tool, outcome).into());
            }
        }
        let progress = context.meta.get_progress_token();
        let (route, mut channels) = self.route(&context, progress.is_some());
        let call = self.host.call(name, tool, arguments, Some(route), &context.ct);
        let outcome =
            self.drive(&context, tool, progress.as_ref(), &mut answering, &mut channels, call).await;
        let Some(outcome) = outcome else {
            return Err(McpError::invalid_params(format!("unknown tool `{tool}`"), None));
        };
        if let Some(result) = answering.input_required(&binding, &outcome) {
            return Ok(CallToolResponse::InputRequired(result?));
        }
        if let CallOutcome::Success { flagged, .. }
        | CallOutcome::ToolError { flagged, .. }
        | CallOutcome::Withheld { flagged } = &outcome
            && !flagged.is_empty()
        {
            let withheld = matches!(outcome, CallOutcome::Withheld { .. });
            let notice = Notice::Scanned { findings: flagged.clone(), withheld };
            self.forward(&context.peer, tool, progress.as_ref(), notice).await;
        }
        Ok(call_result(tool, outcome).into())
    }

    /// Where a request's guest sends its notices and questions, with the
    /// ends the handler drains. A 2026-07-28 client sets the log level per
    /// request (none: no log messages); an earlier one per session.
    fn route(&self, context: &RequestContext<RoleServer>, progress: bool) -> (NoticeRoute, Channels) {
        let (sender, notices) = mpsc::unbounded_channel();
        let (asks, questions) = mpsc::unbounded_channel();
        let min_level = if is_stateless_era(context) {
            context.meta.log_level().map(moat_level)
        } else {
            Some(self.log_level())
        };
        let capabilities = context.client_capabilities().unwrap_or_default();
        let declared = Declared {
            elicitation: capabilities.elicitation.is_some(),
            sampling: capabilities.sampling.is_some(),
            roots: capabilities.roots.is_some(),
        };
        let route =
            NoticeRoute { sender, min_level, progress, progress_floor: None, asks: Some(asks), declared };
        (route, Channels { notices, questions })
    }

    /// Runs `run` (a call of the host) to its end, forwarding its notices
    /// as they come and all of them before it ends, and answering its
    /// questions the way `answering` says.
    async fn drive<T>(
        &self,
        context: &RequestContext<RoleServer>,
        name: &str,
        progress: Option<&ProgressToken>,
        answering: &mut Answering,
        channels: &mut Channels,
        run: impl Future<Output = T>,
    ) -> T {
        tokio::pin!(run);
        let outcome = loop {
            tokio::select! {
                biased;
                Some(notice) = channels.notices.recv() => self.forward(&context.peer, name, progress, notice).await,
                Some(ask) = channels.questions.recv() => match answering {
                    Answering::Live => questions::answer_live(
                        self.host.clone(),
                        context.peer.clone(),
                        context.client_capabilities(),
                        name.to_string(),
                        ask,
                    ),
                    Answering::Rounds(rounds) => rounds.answer(&self.host, name, ask),
                },
                outcome = &mut run => break outcome,
            }
        };
        while let Ok(notice) = channels.notices.try_recv() {
            self.forward(&context.peer, name, progress, notice).await;
        }
        outcome
    }

    /// A resources/read: the resource's function runs like a tool's.
    async fn read(
        &self,
        mut request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let principal = principal_of(&context);
        let caller = principal.as_ref().map_or(STDIO_PRINCIPAL, |p| p.name.as_str());
        let uri = request.uri.as_str();
        let not_found = || McpError::invalid_params("Resource not found", Some(json!({ "uri": uri })));
        let binding = Binding { principal: caller, method: "resources/read", name: uri, arguments: None };
        let mut answering = Answering::of(
            &context,
            &binding,
            request.request_state.as_deref(),
            request.input_responses.take(),
        )?;
        let (route, mut channels) = self.route(&context, false);
        let read = self.host.read_resource(caller, uri, Some(route), &context.ct);
        let read = self.drive(&context, uri, None, &mut answering, &mut channels, read).await;
        let (name, outcome) = match read {
            ReadOutcome::NotFound => return Err(not_found()),
            ReadOutcome::Ambiguous(names) => {
                let message = format!(
                    "`{uri}` matches the resource templates of several components ({}): moat reads none of them",
                    names.join(", ")
                );
                return Err(McpError::invalid_params(message, Some(json!({ "uri": uri }))));
            }
            ReadOutcome::Read { name, outcome } => (name, outcome),
        };
        // A resource the caller may not read is indistinguishable from none.
        if principal.as_ref().is_some_and(|p| !p.may_call(&name)) {
            return Err(not_found());
        }
        if let Some(result) = answering.input_required(&binding, &outcome) {
            return Ok(ReadResourceResponse::InputRequired(result?));
        }
        let flagged = self.announce_findings(&context, &name, &outcome).await;
        match outcome {
            CallOutcome::Success { output: Output::Resource(contents), .. } => {
                let contents = contents.into_iter().map(mcp_resource_contents).collect();
                let mut result = ReadResourceResult::new(contents);
                result.meta = flagged;
                Ok(result.into())
            }
            CallOutcome::ToolError { text, .. } => Err(McpError::invalid_params(
                format!("Resource not found: {text}"),
                Some(json!({ "uri": uri })),
            )),
            other => Err(refusal("read", &name, other)),
        }
    }

    /// A prompts/get: the prompt's function runs like a tool's.
    async fn prompt(
        &self,
        mut request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let principal = principal_of(&context);
        let unknown = || McpError::invalid_params(format!("unknown prompt `{}`", request.name), None);
        if principal.as_ref().is_some_and(|p| !p.may_call(&request.name)) {
            return Err(unknown());
        }
        let caller = principal.as_ref().map_or(STDIO_PRINCIPAL, |p| p.name.as_str());
        let name = request.name.as_str();
        let arguments = request.arguments.as_ref();
        let binding = Binding { principal: caller, method: "prompts/get", name, arguments };
        let mut answering = Answering::of(
            &context,
            &binding,
            request.request_state.as_deref(),
            request.input_responses.take(),
        )?;
        let (route, mut channels) = self.route(&context, false);
        let prompt = self.host.get_prompt(caller, name, arguments, Some(route), &context.ct);
        let Some(outcome) = self.drive(&context, name, None, &mut answering, &mut channels, prompt).await
        else {
            return Err(unknown());
        };
        if let Some(result) = answering.input_required(&binding, &outcome) {
            return Ok(GetPromptResponse::InputRequired(result?));
        }
        let flagged = self.announce_findings(&context, name, &outcome).await;
        match outcome {
            CallOutcome::Success { output: Output::Prompt(messages), flagged: findings } => {
                let mut messages: Vec<PromptMessage> = messages
                    .into_iter()
                    .map(|m| PromptMessage::new(mcp_role(m.role), mcp_block(m.content)))
                    .collect();
                if !findings.is_empty() {
                    messages.insert(0, PromptMessage::new(Role::User, scan_block(name, &findings, false)));
                }
                let mut result = GetPromptResult::new(messages);
                result.description = self.host.prompt(name).and_then(|p| p.description.clone());
                result.meta = flagged;
                Ok(result.into())
            }
            CallOutcome::InvalidArguments(error) => Err(McpError::invalid_params(error, None)),
            CallOutcome::ToolError { text, .. } => {
                Err(McpError::internal_error(format!("prompt `{name}` failed: {text}"), None))
            }
            other => Err(refusal("prompt", name, other)),
        }
    }

    /// A completion/complete, answered by the component's `@completes`
    /// function; none gives no suggestions.
    async fn completion(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let principal = principal_of(&context);
        let caller = principal.as_ref().map_or(STDIO_PRINCIPAL, |p| p.name.as_str());
        let completing = match &request.r#ref {
            Reference::Prompt(prompt) => Completing::Prompt(&prompt.name),
            Reference::Resource(template) => Completing::Template(&template.uri),
            _ => return Err(McpError::invalid_params("completion of an unknown kind of reference", None)),
        };
        let argument = &request.argument;
        let outcome =
            self.host.complete(caller, completing, &argument.name, &argument.value, &context.ct).await;
        let empty = || CompleteResult::new(CompletionInfo::default());
        let outcome = match outcome {
            CompleteOutcome::Unknown(message) => return Err(McpError::invalid_params(message, None)),
            CompleteOutcome::Nothing => return Ok(empty()),
            CompleteOutcome::Called(outcome) => outcome,
        };
        let flagged = self.announce_findings(&context, "completion", &outcome).await;
        match outcome {
            // Suggestions the scan flagged are not offered.
            CallOutcome::Success { .. } if flagged.is_some() => Ok(empty()),
            CallOutcome::Success { output: Output::Completion { values, total }, .. } => {
                let has_more = total > values.len();
                let info = CompletionInfo::with_pagination(values, Some(total as u32), has_more)
                    .map_err(|e| McpError::internal_error(e, None))?;
                Ok(CompleteResult::new(info))
            }
            CallOutcome::ToolError { text, .. } => {
                Err(McpError::internal_error(format!("completion failed: {text}"), None))
            }
            other => Err(refusal("completion", "completion", other)),
        }
    }

    /// Output scanning's findings of a read or prompt, told to the client's
    /// log as for a tool, and as the `_meta` of the result.
    async fn announce_findings(
        &self,
        context: &RequestContext<RoleServer>,
        name: &str,
        outcome: &CallOutcome,
    ) -> Option<MetaObject> {
        let (CallOutcome::Success { flagged, .. }
        | CallOutcome::ToolError { flagged, .. }
        | CallOutcome::Withheld { flagged }) = outcome
        else {
            return None;
        };
        if flagged.is_empty() {
            return None;
        }
        let withheld = matches!(outcome, CallOutcome::Withheld { .. });
        let notice = Notice::Scanned { findings: flagged.clone(), withheld };
        self.forward(&context.peer, name, None, notice).await;
        let mut meta = MetaObject::default();
        meta.insert(scan::META_KEY.to_string(), scan::findings_meta(flagged, withheld));
        Some(meta)
    }

    /// Sends one of a running call's notices to the client, scanned.
    async fn forward(
        &self,
        peer: &Peer<RoleServer>,
        tool: &str,
        progress: Option<&ProgressToken>,
        notice: Notice,
    ) {
        match tokio::time::timeout(NOTICE_SEND_TIMEOUT, self.send_notice(peer, tool, progress, notice)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(tool, error = %error, "a notice could not be sent (the client is gone?)")
            }
            Err(_) => tracing::debug!(tool, "a notice was dropped: the transport did not take it in time"),
        }
    }

    async fn send_notice(
        &self,
        peer: &Peer<RoleServer>,
        tool: &str,
        progress: Option<&ProgressToken>,
        notice: Notice,
    ) -> Result<(), rmcp::service::ServiceError> {
        match notice {
            Notice::Log { level, message, fields } => {
                let mut data = Map::new();
                let mut scanned = message.clone();
                data.insert("message".into(), Value::String(message));
                if !fields.is_empty() {
                    for (name, value) in &fields {
                        scanned.push_str(&format!("\n{name}: {value}"));
                    }
                    let fields =
                        fields.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
                    data.insert("fields".into(), Value::Object(fields));
                }
                let (action, flagged) = self.host.scan_notice(tool, "log message", &scanned);
                let (level, data) = match (action, flagged.is_empty()) {
                    (_, true) => (level, Value::Object(data)),
                    (ScanAction::Withhold, false) => (
                        Level::Warning,
                        json!({"message": scan::warning_text(tool, &flagged, true), scan::META_KEY: scan::findings_meta(&flagged, true)}),
                    ),
                    (_, false) => {
                        data.insert(scan::META_KEY.into(), scan::findings_meta(&flagged, false));
                        data.insert(
                            "moat warning".into(),
                            Value::String(scan::warning_text(tool, &flagged, false)),
                        );
                        (level, Value::Object(data))
                    }
                };
                let mut param = LoggingMessageNotificationParam::new(mcp_level(level), data);
                param.logger = Some(tool.to_string());
                peer.notify_logging_message(param).await
            }
            Notice::Progress { progress: value, total, message } => {
                let Some(token) = progress else { return Ok(()) };
                let message = message.and_then(|text| {
                    let (action, flagged) = self.host.scan_notice(tool, "progress message", &text);
                    match (action, flagged.is_empty()) {
                        (_, true) => Some(text),
                        (ScanAction::Withhold, false) => None,
                        (_, false) => Some(format!("{}\n{text}", scan::warning_text(tool, &flagged, false))),
                    }
                });
                let mut param = ProgressNotificationParam::new(token.clone(), value);
                param.total = total;
                param.message = message;
                peer.notify_progress(param).await
            }
            Notice::Scanned { findings, withheld } => {
                let data = json!({
                    "message": scan::warning_text(tool, &findings, withheld),
                    scan::META_KEY: scan::findings_meta(&findings, withheld),
                });
                self.warn_from_moat(peer, data).await
            }
            Notice::Dropped { rate } => {
                let data = json!({
                    "message": format!("moat dropped {rate} log or progress notices of `{tool}`: over its rate limit"),
                });
                self.warn_from_moat(peer, data).await
            }
        }
    }

    /// A `warning` log message from moat itself, if the client's level lets it through.
    async fn warn_from_moat(
        &self,
        peer: &Peer<RoleServer>,
        data: Value,
    ) -> Result<(), rmcp::service::ServiceError> {
        if (self.log_level() as u8) > (Level::Warning as u8) {
            return Ok(());
        }
        let mut param = LoggingMessageNotificationParam::new(LoggingLevel::Warning, data);
        param.logger = Some("moat".into());
        peer.notify_logging_message(param).await
    }
}

fn mcp_level(level: Level) -> LoggingLevel {
    match level {
        Level::Debug => LoggingLevel::Debug,
        Level::Info => LoggingLevel::Info,
        Level::Notice => LoggingLevel::Notice,
        Level::Warning => LoggingLevel::Warning,
        Level::Error => LoggingLevel::Error,
        Level::Critical => LoggingLevel::Critical,
        Level::Alert => LoggingLevel::Alert,
        Level::Emergency => LoggingLevel::Emergency,
    }
}

fn moat_level(level: LoggingLevel) -> Level {
    match level {
        LoggingLevel::Debug => Level::Debug,
        LoggingLevel::Info => Level::Info,
        LoggingLevel::Notice => Level::Notice,
        LoggingLevel::Warning => Level::Warning,
        LoggingLevel::Error => Level::Error,
        LoggingLevel::Critical => Level::Critical,
        LoggingLevel::Alert => Level::Alert,
        LoggingLevel::Emergency => Level::Emergency,
    }
}

/// The MCP result of a call: output scanning's block first when it found
/// something, internal errors reduced to a pointer at the host's log.
pub fn call_result(tool: &str, outcome: CallOutcome) -> CallToolResult {
    match outcome {
        CallOutcome::Success { output, flagged } => {
            let mut content = Vec::new();
            if !flagged.is_empty() {
                content.push(scan_block(tool, &flagged, false));
            }
            let structured = match output {
                Output::Tool { content: blocks, structured } => {
                    content.extend(blocks.into_iter().map(mcp_block));
                    structured
                }
                // Only tools reach here.
                Output::Resource(_) | Output::Prompt(_) | Output::Completion { .. } => None,
            };
            let mut result = CallToolResult::success(content);
            result.structured_content = structured;
            result
        }
        CallOutcome::ToolError { text, flagged } => {
            let mut content = Vec::new();
            if !flagged.is_empty() {
                content.push(scan_block(tool, &flagged, false));
            }
            content.push(ContentBlock::text(text));
            CallToolResult::error(content)
        }
        CallOutcome::Withheld { flagged } => CallToolResult::error(vec![scan_block(tool, &flagged, true)]),
        CallOutcome::InvalidArguments(error) => {
            CallToolResult::error(vec![ContentBlock::text(format!("invalid arguments: {error}"))])
        }
        CallOutcome::Failed(CallFailure::Internal(_)) => CallToolResult::error(vec![ContentBlock::text(
            "the call failed because of an internal error in the host (see the host's log)",
        )]),
        CallOutcome::Failed(failure) => {
            CallToolResult::error(vec![ContentBlock::text(format!("moat stopped the call: {failure}"))])
        }
    }
}

/// A checked content block in rmcp's model (binary data base64-encoded).
pub fn mcp_block(block: Block) -> ContentBlock {
    let annotations = block.annotations.map(|a| {
        let mut annotations = Annotations::default();
        if !a.audience.is_empty() {
            annotations = annotations.with_audience(a.audience.into_iter().map(mcp_role).collect());
        }
        annotations.priority = a.priority.map(|p| p as f32);
        annotations.last_modified = a.last_modified;
        annotations
    });
    let mut block = match block.kind {
        Kind::Text(text) => ContentBlock::text(text),
        Kind::Image(media) => ContentBlock::image(BASE64.encode(&media.data), media.mime_type),
        Kind::Audio(media) => ContentBlock::audio(BASE64.encode(&media.data), media.mime_type),
        Kind::ResourceLink(link) => {
            let mut resource = Resource::new(link.uri, link.name);
            resource.title = link.title;
            resource.description = link.description;
            resource.mime_type = link.mime_type;
            resource.size = link.size;
            ContentBlock::resource_link(resource)
        }
        Kind::Resource(contents) => ContentBlock::resource(mcp_resource_contents(contents)),
    };
    if let Some(annotations) = annotations {
        match &mut block {
            ContentBlock::Text(c) => c.annotations = Some(annotations),
            ContentBlock::Image(c) => c.annotations = Some(annotations),
            ContentBlock::Audio(c) => c.annotations = Some(annotations),
            ContentBlock::Resource(c) => c.annotations = Some(annotations),
            ContentBlock::ResourceLink(c) => c.annotations = Some(annotations),
            _ => {}
        }
    }
    block
}

/// A resource's checked contents in rmcp's model.
pub fn mcp_resource_contents(contents: ResourceContents) -> rmcp::model::ResourceContents {
    let ResourceContents { uri, mime_type, body } = contents;
    match body {
        Body::Text(text) => {
            rmcp::model::ResourceContents::TextResourceContents { uri, mime_type, text, meta: None }
        }
        Body::Blob(blob) => rmcp::model::ResourceContents::BlobResourceContents {
            uri,
            mime_type,
            blob: BASE64.encode(blob),
            meta: None,
        },
    }
}

fn mcp_role(role: content::Role) -> Role {
    match role {
        content::Role::User => Role::User,
        content::Role::Assistant => Role::Assistant,
    }
}

/// The JSON-RPC error of a read or prompt that did not produce its output.
fn refusal(what: &str, name: &str, outcome: CallOutcome) -> McpError {
    match outcome {
        CallOutcome::Withheld { flagged } => {
            McpError::internal_error(scan::warning_text(name, &flagged, true), None)
        }
        CallOutcome::InvalidArguments(error) => McpError::invalid_params(error, None),
        CallOutcome::Failed(CallFailure::Internal(_)) => McpError::internal_error(
            format!("the {what} failed because of an internal error in the host (see the host's log)"),
            None,
        ),
        CallOutcome::Failed(failure) => {
            McpError::internal_error(format!("moat stopped the {what}: {failure}"), None)
        }
        CallOutcome::Success { .. } | CallOutcome::ToolError { .. } => {
            McpError::internal_error(format!("the {what} returned what it cannot"), None)
        }
    }
}

/// The marked block that precedes (or replaces) output with scan findings:
/// for the user and the model, first in priority, findings in `_meta`.
fn scan_block(tool: &str, flagged: &[Finding], withheld: bool) -> ContentBlock {
    let mut meta = MetaObject::default();
    meta.insert(scan::META_KEY.to_string(), scan::findings_meta(flagged, withheld));
    let text =
        TextContent::new(scan::warning_text(tool, flagged, withheld)).with_meta(meta).with_annotations(
            Annotations::default().with_audience(vec![Role::User, Role::Assistant]).with_priority(1.0),
        );
    ContentBlock::Text(text)
}

impl McpServer {
    /// A subscription names a resource or a template's URI moat serves.
    fn known_resource(&self, uri: &str) -> Result<(), McpError> {
        let known = self.resources.iter().any(|r| r.uri == uri)
            || self.host.templates().any(|t| t.template.matches(uri).is_some());
        if known {
            Ok(())
        } else {
            Err(McpError::invalid_params("Resource not found", Some(json!({ "uri": uri }))))
        }
    }
}

/// The items of a list the request's principal may see (by their names);
/// all of them over stdio.
fn visible<T: Clone>(items: &[T], context: &RequestContext<RoleServer>, name: impl Fn(&T) -> &str) -> Vec<T> {
    match principal_of(context) {
        Some(principal) => items.iter().filter(|item| principal.may_call(name(item))).cloned().collect(),
        None => items.to_vec(),
    }
}

/// The principal of a request: the one the HTTP layer attached, if any.
/// A JSON-RPC error as the telemetry's `error.type` (its code) and message.
fn rpc_error(error: &McpError) -> (String, String) {
    (error.code.0.to_string(), error.message.to_string())
}

impl McpServer {
    /// The telemetry span of a request that runs a component, when
    /// `[telemetry]` is set.
    fn operation<'a>(
        &'a self,
        method: &'static str,
        target: Option<&str>,
        resource_uri: Option<&str>,
        context: &RequestContext<RoleServer>,
    ) -> Option<Box<Operation<'a>>> {
        let telemetry = self.host.telemetry.as_ref()?;
        let http = context.extensions.get::<http::request::Parts>();
        let session_id =
            http.and_then(|parts| parts.headers.get("mcp-session-id")).and_then(|value| value.to_str().ok());
        // Boxed: the span is large, and the request's future holds it.
        Some(Box::new(telemetry.operation(TracedRequest {
            method,
            target,
            resource_uri,
            request_id: context.id.to_string(),
            session_id,
            protocol_version: context.protocol_version().map(|version| version.to_string()),
            transport: if http.is_some() { "tcp" } else { "pipe" },
            meta: &context.meta.0.0,
        })))
    }
}

fn principal_of(context: &RequestContext<RoleServer>) -> Option<Principal> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder().enable_tools().enable_logging().build();
        if !self.resources.is_empty() || !self.templates.is_empty() {
            let mut resources = ResourcesCapability::default();
            // Subscriptions are accepted; the served set and its resources'
            // definitions never change while serving.
            resources.subscribe = Some(true);
            capabilities.resources = Some(resources);
        }
        if !self.prompts.is_empty() {
            capabilities.prompts = Some(PromptsCapability::default());
        }
        if self.host.completes() {
            capabilities.completions = Some(Map::new());
        }
        let mut info = ServerConfig::new(capabilities);
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
        let tools = visible(&self.tools, &context, |item| &item.name);
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let resources = visible(&self.resources, &context, |item| &item.name);
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let templates = visible(&self.templates, &context, |item| &item.name);
        Ok(ListResourceTemplatesResult::with_all_items(templates))
    }

    fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceResponse, McpError>> + Send + '_ {
        Box::pin(async move {
            let operation = self.operation("resources/read", None, Some(&request.uri), &context);
            let result = self.read(request, context).await;
            if let Some(operation) = operation {
                operation.end(result.as_ref().err().map(rpc_error));
            }
            result
        })
    }

    /// Accepted for a resource moat serves; its contents change only if the
    /// component's own data does, which moat cannot see, so no update is
    /// ever sent (said in wit/README.md).
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.known_resource(&request.uri)
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.known_resource(&request.uri)
    }

    /// 2026-07-28 `subscriptions/listen`: accepted for the resources moat
    /// serves. The served set and its definitions never change while
    /// serving, so the acknowledgment is all a stream carries (said in
    /// wit/README.md); it stays open until the client closes it.
    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        let mut accepted = SubscriptionFilter::new();
        accepted.resource_subscriptions = requested
            .resource_subscriptions
            .as_ref()
            .map(|uris| uris.iter().filter(|uri| self.known_resource(uri).is_ok()).cloned().collect());
        Some(accepted)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = visible(&self.prompts, &context, |item| &item.name);
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetPromptResponse, McpError>> + Send + '_ {
        Box::pin(async move {
            let operation = self.operation("prompts/get", Some(&request.name), None, &context);
            let result = self.prompt(request, context).await;
            if let Some(operation) = operation {
                operation.end(result.as_ref().err().map(rpc_error));
            }
            result
        })
    }

    fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CompleteResult, McpError>> + Send + '_ {
        Box::pin(self.completion(request, context))
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        *self.log_level.lock().expect("log level lock") = moat_level(request.level);
        Ok(())
    }

    /// Boxed, so that the task rmcp spawns for each request holds a pointer
    /// to it: rmcp copies a request's future into that task, and this one (a
    /// wasmtime call inside a deadline, and the notices' sends) is about 6 KB.
    fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CallToolResponse, McpError>> + Send + '_ {
        Box::pin(async move {
            let Some(operation) = self.operation("tools/call", Some(&request.name), None, &context) else {
                return self.call(request, context).await;
            };
            let result = self.call(request, context).await;
            {
                let error = match &result {
                    Ok(CallToolResponse::Complete(done)) if done.is_error == Some(true) => {
                        Some(("tool_error".to_string(), "the tool returned an error".to_string()))
                    }
                    Ok(_) => None,
                    Err(error) => Some(rpc_error(error)),
                };
                operation.end(error);
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of what `f` returns, without calling it.
    fn returned_size<A, R>(_f: impl FnOnce(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    #[test]
    fn a_tools_call_future_is_one_pointer_in_the_task_rmcp_spawns() {
        type Args = (&'static McpServer, CallToolRequestParams, RequestContext<RoleServer>);
        let size = returned_size(|(server, request, context): Args| server.call_tool(request, context));
        assert_eq!(size, std::mem::size_of::<usize>(), "the call_tool future is {size} bytes");
    }
}

//! The call pipeline: one tools/call, resources/read or prompts/get, from
//! its arguments to what the client receives, in these steps:
//!
//! 1. **arguments**: checked (against the tool's schema, the template's
//!    variables, the prompt's arguments) and converted to WIT values; the
//!    guest never sees arguments that fail here.
//! 2. **instance**: the component's linked form (waiting, cancellably, for a
//!    component still being linked in the background).
//! 3. **run**: a fresh sandbox under the component's limits ([`crate::runtime`]).
//! 4. **redact**: the component's secret values hidden in what goes back;
//!    a binary payload holding one fails the call.
//! 5. **cap**: output over the component's `output` limit fails the call.
//! 6. **scan**: output scanning, which marks or withholds ([`crate::scan`]).
//! 7. **audit**: one record per call, whatever the outcome; a call whose
//!    record cannot be written fails closed.
//!
//! The call's log records keep the target `moat::host`, which log filters
//! and the tests select on.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use wasmtime::component::Val;

use crate::audit::AuditRecord;
use crate::completion::CompletionDef;
use crate::component::Signature;
use crate::content::{Output, Rendered};
use crate::findings::Finding;
use crate::limits::LimitExceeded;
use crate::metrics::Running;
use crate::policy::secrets::Redactor;
use crate::prompts::PromptDef;
use crate::resources;
use crate::runtime::linked::Linked;
use crate::runtime::notices::{Notice, NoticeRoute};
use crate::runtime::{Call, CallFailure, CallReport, GuestOutput};
use crate::scan::{ScanAction, ScanSettings};
use crate::served::{Host, LoadedComponent};
use crate::tools::ToolDef;

/// The log target of a call's records.
const LOG_TARGET: &str = "moat::host";

/// How often a call waiting for its component to be compiled tells the
/// client (when it asked for progress).
const COMPILE_PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The outcome of one call, as the MCP layer needs it.
#[derive(Debug)]
pub enum CallOutcome {
    /// `flagged`: what output scanning found (the output is still delivered).
    Success { output: Output, flagged: Vec<Finding> },
    /// The function returned `err`: a tool error, or the error of a read or
    /// a prompt.
    ToolError { text: String, flagged: Vec<Finding> },
    /// Output scanning found instructions and the component's scan action is
    /// `withhold`: the output is not delivered.
    Withheld { flagged: Vec<Finding> },
    /// The arguments did not fit; the guest did not run.
    InvalidArguments(String),
    /// The call was stopped (a limit, a trap, cancellation).
    Failed(CallFailure),
}

impl CallOutcome {
    /// The outcome as the log and the audit record name it.
    fn label(&self) -> &'static str {
        match self {
            CallOutcome::Success { flagged, .. } if !flagged.is_empty() => "ok-flagged",
            CallOutcome::Success { .. } => "ok",
            CallOutcome::ToolError { .. } => "tool-error",
            CallOutcome::Withheld { .. } => "withheld",
            CallOutcome::InvalidArguments(_) => "invalid-arguments",
            CallOutcome::Failed(_) => "failed",
        }
    }
}

/// What a call runs: a tool, a resource read or a prompt, each with what
/// turns its returned value into output.
#[derive(Clone, Copy)]
enum Served<'a> {
    Tool(&'a ToolDef),
    Resource(&'a Signature),
    Prompt(&'a PromptDef),
    Completion(&'a CompletionDef),
}

impl Served<'_> {
    fn signature(&self) -> &Signature {
        match self {
            Served::Tool(def) => &def.signature,
            Served::Resource(signature) => signature,
            Served::Prompt(def) => &def.signature,
            Served::Completion(def) => &def.signature,
        }
    }

    fn render(&self, result: Option<&Val>) -> Result<Rendered, String> {
        match self {
            Served::Tool(def) => def.render(result).map_err(|e| e.to_string()),
            Served::Resource(signature) => {
                resources::render_read(signature, result).map_err(|e| e.to_string())
            }
            Served::Prompt(def) => def.render(result).map_err(|e| e.to_string()),
            Served::Completion(_) => CompletionDef::render(result).map_err(|e| e.to_string()),
        }
    }
}

/// One call on its way through the pipeline: what the audit record needs.
struct InFlight<'a> {
    host: &'a Host,
    principal: &'a str,
    /// The tool's, resource's or prompt's name, as the log and audit record it.
    name: &'a str,
    served: Served<'a>,
    component: &'a LoadedComponent,
    /// Its function's place in the component's surface.
    function: usize,
    args: Option<&'a Map<String, Value>>,
    started: std::time::Instant,
    /// Counts it in flight until it ends.
    _running: Running<'a>,
}

/// What a completion/complete asks to complete.
pub enum Completing<'a> {
    /// An argument of the prompt of this name.
    Prompt(&'a str),
    /// A variable of the resource template of this text.
    Template(&'a str),
}

/// What a completion/complete found.
pub enum CompleteOutcome {
    /// No such prompt or template, or no such argument of it.
    Unknown(String),
    /// It exists, and its component completes nothing of it.
    Nothing,
    Called(CallOutcome),
}

/// What a resources/read found for its URI.
pub enum ReadOutcome {
    /// No resource and no template has this URI.
    NotFound,
    /// Templates of more than one component match it: moat reads none
    /// rather than guess which component the client meant.
    Ambiguous(Vec<String>),
    Read {
        name: String,
        outcome: CallOutcome,
    },
}

impl Host {
    /// Calls tool `name`; `None` when there is no such tool.
    /// `principal` is who asked (`stdio` for the local client); it goes to the audit log.
    /// The guest's log messages and progress reports go along `notices`.
    pub async fn call(
        &self,
        principal: &str,
        name: &str,
        args: Option<&Map<String, Value>>,
        notices: Option<NoticeRoute>,
        cancel: &CancellationToken,
    ) -> Option<CallOutcome> {
        let started = std::time::Instant::now();
        let entry = self.tools.get(name)?;
        let served = Served::Tool(&entry.def);
        let call = self.in_flight(principal, name, served, entry.component, entry.function, args, started);
        let params = entry.def.arguments(args).map_err(|error| error.to_string());
        Some(call.perform(params, notices, cancel).await)
    }

    /// Records a call of tool `name` that did not run because the user did not
    /// confirm it (`reason` says how); `None` when there is no such tool.
    pub fn not_confirmed(
        &self,
        principal: &str,
        name: &str,
        args: Option<&Map<String, Value>>,
        reason: String,
    ) -> Option<CallOutcome> {
        let entry = self.tools.get(name)?;
        let started = std::time::Instant::now();
        let call = self.in_flight(
            principal,
            name,
            Served::Tool(&entry.def),
            entry.component,
            entry.function,
            args,
            started,
        );
        tracing::info!(target: LOG_TARGET, tool = name, outcome = "not-confirmed", reason = %reason, "call refused");
        Some(call.audited_as("not-confirmed", CallOutcome::Failed(CallFailure::NotConfirmed(reason)), None))
    }

    /// Reads resource `uri`: the resource of that URI, else the one template
    /// it matches.
    pub async fn read_resource(
        &self,
        principal: &str,
        uri: &str,
        notices: Option<NoticeRoute>,
        cancel: &CancellationToken,
    ) -> ReadOutcome {
        let started = std::time::Instant::now();
        let args: Map<String, Value> =
            [("uri".to_string(), Value::String(uri.to_string()))].into_iter().collect();
        if let Some(entry) = self.resources.get(uri) {
            let served = Served::Resource(&entry.def.signature);
            let name = entry.def.name.as_str();
            let call = self.in_flight(
                principal,
                name,
                served,
                entry.component,
                entry.function,
                Some(&args),
                started,
            );
            let outcome = call.perform(Ok(Vec::new()), notices, cancel).await;
            return ReadOutcome::Read { name: name.to_string(), outcome };
        }
        let matching: Vec<_> = self
            .templates
            .iter()
            .filter_map(|entry| entry.def.arguments(uri).map(|params| (entry, params)))
            .collect();
        let components: std::collections::BTreeSet<usize> =
            matching.iter().map(|(e, _)| e.component).collect();
        if components.len() > 1 {
            return ReadOutcome::Ambiguous(matching.iter().map(|(e, _)| e.def.name.clone()).collect());
        }
        // Within one component, the first template in name order.
        let Some((entry, params)) = matching.into_iter().next() else { return ReadOutcome::NotFound };
        let served = Served::Resource(&entry.def.signature);
        let name = entry.def.name.as_str();
        let call =
            self.in_flight(principal, name, served, entry.component, entry.function, Some(&args), started);
        let outcome = call.perform(Ok(params), notices, cancel).await;
        ReadOutcome::Read { name: name.to_string(), outcome }
    }

    /// Gets prompt `name` with `arguments`; `None` when there is no such prompt.
    pub async fn get_prompt(
        &self,
        principal: &str,
        name: &str,
        arguments: Option<&Map<String, Value>>,
        notices: Option<NoticeRoute>,
        cancel: &CancellationToken,
    ) -> Option<CallOutcome> {
        let started = std::time::Instant::now();
        let entry = self.prompts.get(name)?;
        let call = self.in_flight(
            principal,
            name,
            Served::Prompt(&entry.def),
            entry.component,
            entry.function,
            arguments,
            started,
        );
        let params = prompt_arguments(arguments)
            .and_then(|given| entry.def.arguments(Some(&given)).map_err(|e| e.to_string()));
        Some(call.perform(params, notices, cancel).await)
    }

    /// Completes `argument` (as the client names it) of a prompt or template
    /// from `value`, by its component's `@completes` function.
    pub async fn complete(
        &self,
        principal: &str,
        completing: Completing<'_>,
        argument: &str,
        value: &str,
        cancel: &CancellationToken,
    ) -> CompleteOutcome {
        let started = std::time::Instant::now();
        let (name, component, completion, param) = match completing {
            Completing::Prompt(name) => {
                let Some(entry) = self.prompts.get(name) else {
                    return CompleteOutcome::Unknown(format!("unknown prompt `{name}`"));
                };
                let param = entry.def.arguments.iter().find(|a| a.name == argument).map(|a| a.param.clone());
                (entry.def.name.as_str(), entry.component, entry.completion, param)
            }
            Completing::Template(text) => {
                let Some(entry) = self.templates.iter().find(|e| e.def.template.text == text) else {
                    return CompleteOutcome::Unknown(format!("unknown resource template `{text}`"));
                };
                let param = entry.def.parameter_of(argument).map(String::from);
                (entry.def.name.as_str(), entry.component, entry.completion, param)
            }
        };
        let Some(param) = param else {
            return CompleteOutcome::Unknown(format!("`{name}` has no argument `{argument}`"));
        };
        let Some(function) = completion else { return CompleteOutcome::Nothing };
        let def = self.completions.get(&(component, function)).expect("completion functions are registered");
        let args: Map<String, Value> = [
            ("argument".to_string(), Value::String(param.clone())),
            ("value".to_string(), Value::String(value.to_string())),
        ]
        .into_iter()
        .collect();
        let call = self.in_flight(
            principal,
            name,
            Served::Completion(def),
            component,
            function,
            Some(&args),
            started,
        );
        let params = vec![Val::String(param), Val::String(value.to_string())];
        CompleteOutcome::Called(call.perform(Ok(params), None, cancel).await)
    }

    #[allow(clippy::too_many_arguments)]
    fn in_flight<'a>(
        &'a self,
        principal: &'a str,
        name: &'a str,
        served: Served<'a>,
        component: usize,
        function: usize,
        args: Option<&'a Map<String, Value>>,
        started: std::time::Instant,
    ) -> InFlight<'a> {
        let component = &self.components[component];
        let _running = self.metrics.call_started();
        InFlight { host: self, principal, name, served, component, function, args, started, _running }
    }
}

/// A prompt's arguments, which MCP says are strings.
fn prompt_arguments(arguments: Option<&Map<String, Value>>) -> Result<BTreeMap<String, String>, String> {
    let Some(arguments) = arguments else { return Ok(BTreeMap::new()) };
    arguments
        .iter()
        .map(|(name, value)| match value {
            Value::String(text) => Ok((name.clone(), text.clone())),
            other => Err(format!("argument `{name}` must be a string, not {other}")),
        })
        .collect()
}

impl InFlight<'_> {
    /// Steps 1 (given its result) to 7.
    async fn perform(
        &self,
        params: Result<Vec<Val>, String>,
        notices: Option<NoticeRoute>,
        cancel: &CancellationToken,
    ) -> CallOutcome {
        let params = match params {
            Ok(params) => params,
            Err(error) => {
                tracing::info!(target: LOG_TARGET, tool = self.name, outcome = "invalid-arguments", error = %error, "call refused");
                return self.audited(CallOutcome::InvalidArguments(error), None);
            }
        };
        let run = async {
            let mut notices = notices;
            match self.instance(&mut notices, cancel).await {
                Ok(linked) => self.run(linked, &params, notices, cancel).await,
                Err(failure) => Err(failure),
            }
        };
        // A stopping moat, past its drain deadline, ends the call as the
        // client's cancellation would: `cancelled`, with its audit record.
        let result = tokio::select! {
            result = run => result,
            () = self.host.stopping.cancelled() => Err(CallFailure::Cancelled),
        };
        match result {
            Ok(report) => self.finish(report),
            Err(failure) => self.failed(failure),
        }
    }
}

impl InFlight<'_> {
    /// Step 2: the component's linked form. Once linked (every call after the
    /// first few), no waiting and no cancellation future on the way. Until
    /// then the call waits, up to `[server] compile_wait`, telling the client
    /// each second when it asked for progress.
    async fn instance(
        &self,
        notices: &mut Option<NoticeRoute>,
        cancel: &CancellationToken,
    ) -> Result<&Linked, CallFailure> {
        let link = &self.component.link;
        let linked = match link.get() {
            Some(linked) => linked,
            None => {
                let waited = std::time::Instant::now();
                let deadline = tokio::time::sleep(self.host.compile_wait);
                tokio::pin!(deadline);
                // Reading a compiled component from the cache takes
                // milliseconds: nothing to report before the first second.
                let first = tokio::time::Instant::now() + COMPILE_PROGRESS_EVERY;
                let mut ticks = tokio::time::interval_at(first, COMPILE_PROGRESS_EVERY);
                let wait = link.wait();
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        linked = &mut wait => break linked,
                        _ = cancel.cancelled() => return Err(CallFailure::Cancelled),
                        () = &mut deadline => {
                            return Err(CallFailure::NotReady(format!(
                                "component `{}` is still being compiled after {} (a component is compiled \
                                 the first time moat serves it); try again shortly",
                                self.component.name,
                                humantime::format_duration(self.host.compile_wait)
                            )));
                        }
                        _ = ticks.tick() => self.report_compiling(notices.as_mut(), waited.elapsed()),
                    }
                }
            }
        };
        linked.map_err(|reason| {
            CallFailure::Internal(anyhow::anyhow!(
                "component `{}` could not be linked: {reason}",
                self.component.name
            ))
        })
    }

    /// A progress notification while the call waits for its component, when
    /// the client asked for progress. Its progress is the share of
    /// `compile_wait` gone by, below 1, so that the guest's own reports on
    /// the same token (which must go beyond it: MCP's progress only
    /// increases) are kept unless they are small fractions; the message
    /// says what it is.
    fn report_compiling(&self, route: Option<&mut NoticeRoute>, waited: std::time::Duration) {
        let Some(route) = route.filter(|route| route.progress) else { return };
        let share = waited.as_secs_f64() / self.host.compile_wait.as_secs_f64().max(f64::MIN_POSITIVE);
        let progress = share.min(0.999);
        if route.progress_floor.is_some_and(|floor| progress <= floor) {
            return;
        }
        route.progress_floor = Some(progress);
        let message = format!(
            "waiting for component `{}` to be compiled and linked ({} s so far, at most {})",
            self.component.name,
            waited.as_secs(),
            humantime::format_duration(self.host.compile_wait)
        );
        let _ = route.sender.send(Notice::Progress { progress, total: None, message: Some(message) });
    }

    /// Step 3: the guest runs in a fresh sandbox.
    async fn run(
        &self,
        linked: &Linked,
        params: &[Val],
        notices: Option<NoticeRoute>,
        cancel: &CancellationToken,
    ) -> Result<CallReport, CallFailure> {
        let component = self.component;
        let call = Call {
            pre: &linked.pre,
            func: linked.export(self.function),
            params,
            result_count: usize::from(self.served.signature().result.is_some()),
            limits: component.limits,
            slots: &component.slots,
            spare: &component.spare,
            policy: &component.policy,
            component: &component.name,
            notices,
        };
        self.host.runtime.call(call, cancel).await
    }

    /// Steps 4 to 7 for a call that returned.
    fn finish(&self, report: CallReport) -> CallOutcome {
        let component = self.component;
        let redactor = component.policy.redactor();
        log_guest_output(self.name, &report.output, redactor);
        let outcome = match self.served.render(report.result.as_ref()) {
            Ok(rendered) => match redact(rendered, redactor) {
                Ok(rendered) => {
                    let outcome = within_output_limit(rendered, component.limits.output);
                    self.host.scan_output(self.name, component.scan, outcome)
                }
                Err(failure) => CallOutcome::Failed(failure),
            },
            Err(error) => CallOutcome::Failed(CallFailure::Unsendable(error)),
        };
        tracing::info!(
            target: LOG_TARGET,
            tool = self.name,
            digest = %component.digest,
            duration_us = report.duration.as_micros() as u64,
            fuel_used = report.fuel_used,
            instance = if report.spare { "spare" } else { "new" },
            outcome = outcome.label(),
            "call"
        );
        self.audited(outcome, Some(report.fuel_used))
    }

    /// Steps 4 and 7 for a call that was stopped.
    fn failed(&self, failure: CallFailure) -> CallOutcome {
        let redactor = self.component.policy.redactor();
        let failure = match failure {
            CallFailure::Trap { trap, guest_said, output } => {
                log_guest_output(self.name, &output, redactor);
                CallFailure::Trap { trap, guest_said: guest_said.map(|said| redactor.redact(&said)), output }
            }
            other => other,
        };
        let detail = match &failure {
            CallFailure::Internal(error) => format!("{error:#}"),
            other => other.to_string(),
        };
        let outcome = match failure {
            CallFailure::Cancelled => "cancelled",
            CallFailure::Suspended => "needs-input",
            _ => "failed",
        };
        if matches!(failure, CallFailure::Suspended) {
            tracing::info!(target: LOG_TARGET, tool = self.name, digest = %self.component.digest, outcome, "call");
        } else {
            tracing::warn!(target: LOG_TARGET, tool = self.name, digest = %self.component.digest, outcome, error = %detail, "call");
        }
        self.audited_as(outcome, CallOutcome::Failed(failure), None)
    }

    /// Step 7: the audit record, labelled by the outcome.
    fn audited(&self, outcome: CallOutcome, fuel_used: Option<u64>) -> CallOutcome {
        let label = outcome.label();
        self.audited_as(label, outcome, fuel_used)
    }

    /// Step 7: the audit record under `label`. A call whose record could not
    /// be written fails closed: the client gets an internal error and the log
    /// says why.
    fn audited_as(&self, label: &str, outcome: CallOutcome, fuel_used: Option<u64>) -> CallOutcome {
        self.host.metrics.call_ended(self.name, label, self.started.elapsed(), fuel_used);
        let Some(log) = &self.host.audit else { return outcome };
        let record = AuditRecord {
            principal: self.principal,
            tool: self.name,
            component: &self.component.name,
            component_digest: &self.component.digest,
            arguments: self.args,
            duration: self.started.elapsed(),
            fuel_used,
            outcome: label,
        };
        match log.record(&record) {
            Ok(()) => outcome,
            Err(error) => {
                tracing::error!(target: LOG_TARGET, error = %format!("{error:#}"), "audit log write failed; the call is reported as failed");
                let error = error.context("the audit log could not be written");
                CallOutcome::Failed(CallFailure::Internal(error))
            }
        }
    }
}

/// Step 4: hides the component's secret values in what goes back to the
/// client (the guest should never have had them; this is the second line of
/// defence). Binary data cannot be redacted without corrupting it, so a
/// binary payload holding a secret fails the call.
fn redact(rendered: Rendered, redactor: &Redactor) -> Result<Rendered, CallFailure> {
    if redactor.is_empty() {
        return Ok(rendered);
    }
    Ok(match rendered {
        Rendered::Success(mut output) => {
            if let Some((at, _)) = output.binaries().into_iter().find(|(_, bytes)| redactor.finds_in(bytes)) {
                return Err(CallFailure::Unsendable(format!(
                    "{at} holds the value of one of the component's secrets"
                )));
            }
            for (_, text) in output.texts_mut() {
                *text = redactor.redact(text);
            }
            if let Output::Tool { structured: Some(value), .. } = &mut output {
                let redacted = redactor.redact(&value.to_string());
                if let Ok(redacted) = serde_json::from_str(&redacted) {
                    *value = redacted;
                }
            }
            Rendered::Success(output)
        }
        Rendered::Error(text) => Rendered::Error(redactor.redact(&text)),
    })
}

/// Step 5: output over the component's limit fails the call. Every block
/// counts, text and binary (before base64).
fn within_output_limit(rendered: Rendered, limit: u64) -> CallOutcome {
    let size = match &rendered {
        Rendered::Success(output) => output.size(),
        Rendered::Error(text) => text.len() as u64,
    };
    if size > limit {
        return CallOutcome::Failed(CallFailure::Limit(LimitExceeded::Output { limit, actual: size }));
    }
    let flagged = Vec::new();
    match rendered {
        Rendered::Success(output) => CallOutcome::Success { output, flagged },
        Rendered::Error(text) => CallOutcome::ToolError { text, flagged },
    }
}

impl Host {
    /// Step 6: output scanning of a result: findings are logged and recorded
    /// in the outcome; with `withhold`, the output is replaced.
    fn scan_output(&self, tool: &str, scan: ScanSettings, mut outcome: CallOutcome) -> CallOutcome {
        if scan.action == ScanAction::Off {
            return outcome;
        }
        let found = match &mut outcome {
            // The text of a structured result is its JSON: scanning the value
            // reads each string once, unescaped, and names where it is.
            CallOutcome::Success { output: Output::Tool { structured: Some(value), .. }, .. } => {
                self.scanner.scan_value("structuredContent", value, scan.flag_at)
            }
            CallOutcome::Success { output, .. } => self.scan_texts(output, scan),
            CallOutcome::ToolError { text, .. } => {
                self.scanner.scan_text("content[0].text", text, scan.flag_at)
            }
            _ => return outcome,
        };
        if found.is_empty() {
            return outcome;
        }
        for finding in &found {
            tracing::warn!(
                target: LOG_TARGET,
                tool,
                rule = %finding.rule,
                severity = %finding.severity,
                field = %finding.field,
                span = %finding.span,
                action = ?scan.action,
                "output scan: {}", finding.message
            );
        }
        match (scan.action, outcome) {
            (ScanAction::Withhold, _) => CallOutcome::Withheld { flagged: found },
            (_, CallOutcome::Success { output, .. }) => CallOutcome::Success { output, flagged: found },
            (_, CallOutcome::ToolError { text, .. }) => CallOutcome::ToolError { text, flagged: found },
            (_, other) => other,
        }
    }
}

impl Host {
    /// Every text of the output, each named by where it is
    /// (`content[2].resource.text`). Binary data was checked against its
    /// declared type when the output was read.
    fn scan_texts(&self, output: &mut Output, scan: ScanSettings) -> Vec<Finding> {
        let mut found = Vec::new();
        for (field, text) in output.texts_mut() {
            found.extend(self.scanner.scan_text(&field, text, scan.flag_at));
        }
        found
    }
}

/// Guest output goes to the log (stderr), escaped so that it cannot forge log
/// lines, never to stdout.
fn log_guest_output(tool: &str, output: &GuestOutput, redactor: &Redactor) {
    for (stream, (bytes, dropped)) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        if bytes.is_empty() && *dropped == 0 {
            continue;
        }
        let text = redactor.redact(&String::from_utf8_lossy(bytes));
        tracing::info!(target: "moat::guest", tool, stream, kept = bytes.len(), dropped, text = %text.escape_debug(), "guest output");
    }
}

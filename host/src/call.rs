//! The call pipeline: one tools/call from JSON arguments to what the client
//! receives, in these steps:
//!
//! 1. **arguments**: checked against the schema and converted to WIT values;
//!    the guest never sees arguments that fail here.
//! 2. **instance**: the component's linked form (waiting, cancellably, for a
//!    component still being linked in the background).
//! 3. **run**: a fresh sandbox under the component's limits ([`crate::runtime`]).
//! 4. **redact**: the component's secret values hidden in what goes back.
//! 5. **cap**: output over the component's `output` limit fails the call.
//! 6. **scan**: output scanning, which marks or withholds ([`crate::scan`]).
//! 7. **audit**: one record per call, whatever the outcome; a call whose
//!    record cannot be written fails closed.
//!
//! The call's log records keep the target `moat::host`, which log filters
//! and the tests select on.

use anyhow::Result;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use wasmtime::component::Val;

use crate::audit::AuditRecord;
use crate::content::Block;
use crate::convert::ConvertError;
use crate::findings::Finding;
use crate::limits::LimitExceeded;
use crate::policy::secrets::Redactor;
use crate::runtime::linked::Linked;
use crate::runtime::notices::NoticeRoute;
use crate::runtime::{Call, CallFailure, CallReport, GuestOutput};
use crate::scan::{ScanAction, ScanSettings};
use crate::served::{Host, LoadedComponent, ToolEntry};
use crate::tools::Rendered;

/// The log target of a call's records.
const LOG_TARGET: &str = "moat::host";

/// The outcome of one call, as the MCP layer needs it.
#[derive(Debug)]
pub enum CallOutcome {
    /// `flagged`: what output scanning found (the output is still delivered).
    Success { content: Vec<Block>, structured: Option<Value>, flagged: Vec<Finding> },
    /// The tool returned `err`.
    ToolError { text: String, flagged: Vec<Finding> },
    /// Output scanning found instructions and the component's scan action is
    /// `withhold`: the output is not delivered.
    Withheld { flagged: Vec<Finding> },
    /// The arguments did not fit the schema; the guest did not run.
    InvalidArguments(ConvertError),
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

/// One call on its way through the pipeline: what the audit record needs.
struct InFlight<'a> {
    host: &'a Host,
    principal: &'a str,
    name: &'a str,
    entry: &'a ToolEntry,
    component: &'a LoadedComponent,
    args: Option<&'a Map<String, Value>>,
    started: std::time::Instant,
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
        let component = &self.components[entry.component];
        let call = InFlight { host: self, principal, name, entry, component, args, started };
        let params = match entry.def.arguments(args) {
            Ok(params) => params,
            Err(error) => {
                tracing::info!(target: LOG_TARGET, tool = name, outcome = "invalid-arguments", error = %error, "call refused");
                return Some(call.audited(CallOutcome::InvalidArguments(error), None));
            }
        };
        let result = match call.instance(cancel).await {
            Ok(linked) => call.run(linked, &params, notices, cancel).await,
            Err(failure) => Err(failure),
        };
        Some(match result {
            Ok(report) => call.finish(report),
            Err(failure) => call.failed(failure),
        })
    }
}

impl InFlight<'_> {
    /// Step 2: the component's linked form. Once linked (every call after the
    /// first few), no waiting and no cancellation future on the way.
    async fn instance(&self, cancel: &CancellationToken) -> Result<&Linked, CallFailure> {
        let link = &self.component.link;
        let linked = match link.get() {
            Some(linked) => linked.map_err(Some),
            None => tokio::select! {
                _ = cancel.cancelled() => Err(None),
                linked = link.wait() => linked.map_err(Some),
            },
        };
        linked.map_err(|reason| match reason {
            None => CallFailure::Cancelled,
            Some(reason) => CallFailure::Internal(anyhow::anyhow!(
                "component `{}` could not be linked: {reason}",
                self.component.name
            )),
        })
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
            func: linked.export(self.entry.function),
            params,
            result_count: usize::from(self.entry.def.signature.result.is_some()),
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
        let outcome = match self.entry.def.render(report.result.as_ref()) {
            Ok(rendered) => match redact(rendered, redactor) {
                Ok(rendered) => {
                    let outcome = within_output_limit(rendered, component.limits.output);
                    self.host.scan_output(self.name, component.scan, outcome)
                }
                Err(failure) => CallOutcome::Failed(failure),
            },
            Err(error) => CallOutcome::Failed(CallFailure::Unsendable(error.to_string())),
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
        let outcome = if matches!(failure, CallFailure::Cancelled) { "cancelled" } else { "failed" };
        tracing::warn!(target: LOG_TARGET, tool = self.name, digest = %self.component.digest, outcome, error = %detail, "call");
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
/// binary block holding a secret fails the call.
fn redact(rendered: Rendered, redactor: &Redactor) -> Result<Rendered, CallFailure> {
    if redactor.is_empty() {
        return Ok(rendered);
    }
    Ok(match rendered {
        Rendered::Success { mut content, structured } => {
            for (index, block) in content.iter_mut().enumerate() {
                if block.binary().is_some_and(|bytes| redactor.finds_in(bytes)) {
                    return Err(CallFailure::Unsendable(format!(
                        "content[{index}] holds the value of one of the component's secrets"
                    )));
                }
                for (_, text) in block.texts_mut() {
                    *text = redactor.redact(text);
                }
            }
            let structured = structured.map(|value| {
                let redacted = redactor.redact(&value.to_string());
                serde_json::from_str(&redacted).unwrap_or(value)
            });
            Rendered::Success { content, structured }
        }
        Rendered::ToolError { text } => Rendered::ToolError { text: redactor.redact(&text) },
    })
}

/// Step 5: output over the component's limit fails the call. Every block
/// counts, text and binary (before base64), and so does the structured
/// content.
fn within_output_limit(rendered: Rendered, limit: u64) -> CallOutcome {
    let size = match &rendered {
        Rendered::Success { content, structured } => {
            let structured =
                structured.as_ref().filter(|_| content.is_empty()).map_or(0, |v| v.to_string().len());
            content.iter().map(Block::size).sum::<u64>() + structured as u64
        }
        Rendered::ToolError { text } => text.len() as u64,
    };
    if size > limit {
        return CallOutcome::Failed(CallFailure::Limit(LimitExceeded::Output { limit, actual: size }));
    }
    let flagged = Vec::new();
    match rendered {
        Rendered::Success { content, structured } => CallOutcome::Success { content, structured, flagged },
        Rendered::ToolError { text } => CallOutcome::ToolError { text, flagged },
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
            CallOutcome::Success { structured: Some(value), .. } => {
                self.scanner.scan_value("structuredContent", value, scan.flag_at)
            }
            CallOutcome::Success { content, .. } => self.scan_blocks(content, scan),
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
            (_, CallOutcome::Success { content, structured, .. }) => {
                CallOutcome::Success { content, structured, flagged: found }
            }
            (_, CallOutcome::ToolError { text, .. }) => CallOutcome::ToolError { text, flagged: found },
            (_, other) => other,
        }
    }
}

impl Host {
    /// Every text of every block, each named by where it is
    /// (`content[2].resource.text`). Binary data was checked against its
    /// declared type when the blocks were read.
    fn scan_blocks(&self, content: &mut [Block], scan: ScanSettings) -> Vec<Finding> {
        let mut found = Vec::new();
        for (index, block) in content.iter_mut().enumerate() {
            for (field, text) in block.texts_mut() {
                found.extend(self.scanner.scan_text(
                    &format!("content[{index}].{field}"),
                    text,
                    scan.flag_at,
                ));
            }
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

//! The set of loaded components and their tools, and the dispatch of one call.
//!
//! Owns: loading each configured component (its digest and surface, then the
//! gates: signature, metadata, names, lock, vet), refusing name collisions,
//! the deterministic tool list, and a call from JSON arguments to a rendered
//! result with its log line. A component that fails to load is refused with
//! its reason and the others are served; duplicate component names stop the
//! host (a config error).
//!
//! Start-up does as little as it can before it lists tools. A component whose
//! file is unchanged since it was last hashed ([`crate::digests`]) and whose
//! surface is cached is checked on that surface while the engine is built on
//! another thread; its compiled code is loaded and linked after listing
//! ([`crate::linking`]), and a call waits for its own component.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditLog, AuditRecord};
use crate::component::{ComponentFile, ExportedFunction, Surface};
use crate::config::{ComponentSpec, Config, LoadGates};
use crate::convert::ConvertError;
use crate::digests::{self, DigestMemo};
use crate::limits::{LimitExceeded, Limits};
use crate::linking::{LinkSlot, Linked, PendingLink, link_in_background};
use crate::lock::{self, LockedComponent};
use crate::policy::Policy;
use crate::policy::secrets::Redactor;
use crate::runtime::cache::{CompileCache, CompileSource, SurfaceCache};
use crate::runtime::notices::NoticeRoute;
use crate::runtime::spare::Spare;
use crate::runtime::{Call, CallFailure, ComponentSlots, GuestOutput, PoolSizing, Runtime};
use crate::scan::{OutputScanner, ScanAction, ScanSettings};
use crate::signing;
use crate::tools::{Rendered, ToolDef};
use crate::vet::cache::VetCache;
use crate::vet::{Finding, Severity, vet_tools};

/// One component ready to run.
pub struct LoadedComponent {
    pub name: Arc<str>,
    pub policy: Arc<Policy>,
    pub digest: String,
    pub limits: Limits,
    pub scan: ScanSettings,
    link: Arc<LinkSlot>,
    slots: ComponentSlots,
    spare: Arc<Spare>,
}

struct ToolEntry {
    def: ToolDef,
    component: usize,
    /// Its function's place in the component's surface.
    function: usize,
}

/// What happened while loading, for the log and for `moat inspect`.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Components refused, with the reason.
    pub refused: Vec<(String, String)>,
    /// Functions that are not tools, with the reason.
    pub unavailable: Vec<(String, String)>,
    /// Components compiled now rather than read from the cache.
    pub compiled: Vec<String>,
}

/// A call whose audit line could not be written fails closed: the client
/// gets an internal error and the log says why.
fn audit_failed(error: anyhow::Error) -> CallOutcome {
    tracing::error!(error = %format!("{error:#}"), "audit log write failed; the call is reported as failed");
    CallOutcome::Failed(CallFailure::Internal(error.context("the audit log could not be written")))
}

/// A component's digest (`sha256:<hex>`) and surface, and its linked form if
/// it had to be compiled or linked to read the surface.
struct Found {
    digest: String,
    surface: Surface,
    linked: Option<Linked>,
    /// Its bytes were read and hashed (not remembered).
    hashed: bool,
    /// Compiled now (not read from the cache).
    compiled: bool,
}

/// `sha256:<hex>` → `<hex>`, as the cache names entries.
fn hex_part(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// A component that passed its checks, before the vet gate.
struct Prepared {
    spec: ComponentSpec,
    digest: String,
    /// Linked now, or (listed from the cache) later.
    linked: Option<Linked>,
    functions: Vec<ExportedFunction>,
    /// Name, definition, and the function's place in `functions`.
    tools: Vec<(String, ToolDef, usize)>,
}

fn refuse(report: &mut LoadReport, spec: &ComponentSpec, error: &anyhow::Error) {
    let reason = format!("{error:#}");
    tracing::error!(component = %spec.name, path = %spec.path.display(), %reason, "component refused");
    report.refused.push((spec.name.clone(), reason));
}

fn has_signature(path: &std::path::Path) -> bool {
    signing::bundle_path(path).exists() || signing::oci_signature_path(path).exists()
}

/// Vets a component's tools with the other components' tools in view (or
/// takes the result of the same vetting from the cache); every finding is
/// logged, and findings at or above `refuse_at` refuse it.
fn vet_gate(
    component: &Prepared,
    others: &[String],
    refuse_at: Option<Severity>,
    cache: Option<&VetCache>,
) -> Result<()> {
    let tools: Vec<rmcp::model::Tool> =
        component.tools.iter().map(|(_, def, _)| crate::server::mcp_tool(def)).collect();
    let key = VetCache::key(&tools, others);
    let cached = cache.and_then(|cache| cache.get(&key));
    tracing::debug!(component = %component.spec.name, cached = cached.is_some(), "vetted");
    let results = match cached {
        Some(cached) => cached,
        None => {
            let tools: Vec<Value> =
                tools.iter().map(|tool| serde_json::to_value(tool).expect("tools serialise")).collect();
            let fresh = vet_tools(&tools, others);
            if let Some(cache) = cache {
                cache.put(&key, &fresh);
            }
            fresh
        }
    };
    let mut blocking = Vec::new();
    for tool in results {
        for finding in &tool.findings {
            tracing::warn!(
                component = %component.spec.name,
                tool = %tool.name,
                rule = %finding.rule,
                severity = %finding.severity,
                field = %finding.field,
                span = %finding.span,
                "vet: {}", finding.message
            );
            if refuse_at.is_some_and(|limit| finding.severity >= limit) {
                blocking.push(format!(
                    "{} {} in {} {}: {}",
                    finding.severity, finding.rule, tool.name, finding.field, finding.message
                ));
            }
        }
    }
    if !blocking.is_empty() {
        bail!("vet findings at or above the refusal level ([vet] refuse_at): {}", blocking.join("; "));
    }
    Ok(())
}

/// Whether the component's signature is checked: then its bytes are always
/// read, since the signature is checked on them.
fn signed(spec: &ComponentSpec, gates: &LoadGates) -> bool {
    gates.require_signature || (!gates.trusted_keys.is_empty() && has_signature(&spec.path))
}

/// A component's digest and surface without reading its file, when the file
/// is unchanged since it was last hashed and the surface of that digest is
/// cached. Needs no engine.
fn find_cached(
    spec: &ComponentSpec,
    gates: &LoadGates,
    memo: Option<&DigestMemo>,
    surfaces: &SurfaceCache,
) -> Option<Found> {
    if signed(spec, gates) {
        return None;
    }
    let digest = memo?.get(&spec.path)?;
    let surface = surfaces.get(hex_part(&digest))?;
    Some(Found { digest, surface, linked: None, hashed: false, compiled: false })
}

/// A component's digest and surface from its bytes (signature checked
/// first); compiled and linked when the surface is not cached.
fn find(
    runtime: &Runtime,
    spec: &ComponentSpec,
    gates: &LoadGates,
    memo: Option<&DigestMemo>,
    surfaces: &SurfaceCache,
) -> Result<Found> {
    let (bytes, identity) = digests::read(&spec.path)?;
    // The signature is checked on the raw bytes, before anything parses them.
    if signed(spec, gates) {
        let key = signing::verify_component(&spec.path, &bytes, &gates.trusted_keys)
            .context("signature check failed")?;
        tracing::info!(component = %spec.name, key = %key.label, "signature verified");
    }
    let file = ComponentFile::from_bytes(&spec.path, bytes)?;
    if let Some(memo) = memo {
        memo.put(&spec.path, identity, &file.digest);
    }
    if let Some(surface) = surfaces.get(file.digest_hex()) {
        return Ok(Found { digest: file.digest, surface, linked: None, hashed: true, compiled: false });
    }
    let (component, source) =
        runtime.compile(file.digest_hex(), &file.bytes).context("not a valid component")?;
    let pre = runtime.pre_instantiate(&component).context("it needs something this host does not provide")?;
    let surface = Surface::of(runtime.engine(), &component, file.metadata.clone());
    let linked = Linked::new(&component, pre, &surface.functions)?;
    surfaces.put(file.digest_hex(), &surface);
    let compiled = source == CompileSource::Compiled;
    Ok(Found { digest: file.digest, surface, linked: Some(linked), hashed: true, compiled })
}

/// All loaded components and tools.
pub struct Host {
    runtime: Runtime,
    components: Vec<LoadedComponent>,
    tools: BTreeMap<String, ToolEntry>,
    audit: Option<AuditLog>,
    scanner: OutputScanner,
}

/// The outcome of one call, as the MCP layer needs it.
#[derive(Debug)]
pub enum CallOutcome {
    /// `flagged`: what output scanning found (the output is still delivered).
    Success { text: String, structured: Option<Value>, flagged: Vec<Finding> },
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

impl Host {
    /// Loads every component of `config`.
    pub fn load(config: &Config) -> Result<(Host, LoadReport)> {
        let mut seen = BTreeMap::new();
        for spec in &config.components {
            if let Some(previous) = seen.insert(spec.name.as_str(), &spec.path) {
                bail!(
                    "component name `{}` is used twice ({} and {}); give one of them another name in the config",
                    spec.name,
                    previous.display(),
                    spec.path.display()
                );
            }
        }
        let cache_dir = config.cache_dir.clone().or_else(CompileCache::default_dir);
        let audit = config.audit_path.as_deref().map(AuditLog::open).transpose()?;
        let memo = cache_dir.as_deref().and_then(|dir| DigestMemo::new(&dir.join("digests")));
        let surfaces = SurfaceCache::new(cache_dir.as_deref());
        let gates = &config.gates;
        let mut report = LoadReport::default();
        // The engine is built on another thread meanwhile: components found
        // in the cache are checked without it.
        let (runtime, checked) = std::thread::scope(|scope| {
            let runtime = scope.spawn(|| {
                Runtime::new(Some(pool_sizing(config)), cache_dir.as_deref(), config.engine)
                    .map(|runtime| runtime.with_cache_budget(config.cache_max_size))
            });
            let checked: Vec<Option<Result<Prepared>>> = config
                .components
                .iter()
                .map(|spec| {
                    let found = find_cached(spec, gates, memo.as_ref(), &surfaces)?;
                    Some(Host::check(spec, gates, found, &mut report))
                })
                .collect();
            (runtime.join(), checked)
        });
        let runtime = runtime.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        let mut prepared = Vec::new();
        for (spec, checked) in config.components.iter().zip(checked) {
            let checked = checked.unwrap_or_else(|| {
                find(&runtime, spec, gates, memo.as_ref(), &surfaces)
                    .and_then(|found| Host::check(spec, gates, found, &mut report))
            });
            match checked {
                Ok(component) => prepared.push(component),
                Err(error) => refuse(&mut report, spec, &error),
            }
        }
        let mut host = Host {
            runtime,
            components: Vec::new(),
            tools: BTreeMap::new(),
            audit,
            scanner: OutputScanner::default(),
        };
        let mut pending = Vec::new();
        // Vet with every other component's tools in view: naming them is shadowing.
        let vet_started = std::time::Instant::now();
        let vet_cache = cache_dir.as_deref().and_then(|dir| VetCache::new(&dir.join("vet")));
        let names: Vec<Vec<String>> =
            prepared.iter().map(|p| p.tools.iter().map(|(name, _, _)| name.clone()).collect()).collect();
        for (i, component) in prepared.into_iter().enumerate() {
            let others: Vec<String> =
                names.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, n)| n.clone()).collect();
            let taken = component.tools.iter().find(|(name, _, _)| host.tools.contains_key(name));
            if let Some((name, _, _)) = taken {
                let error = anyhow::anyhow!("tool name `{name}` is already served by another component");
                refuse(&mut report, &component.spec, &error);
                continue;
            }
            match vet_gate(&component, &others, config.gates.vet_refuse_at, vet_cache.as_ref()) {
                Ok(()) => pending.extend(host.register(component)),
                Err(error) => refuse(&mut report, &component.spec, &error),
            }
        }
        link_in_background(host.runtime.linking(), pending);
        tracing::debug!(duration_us = vet_started.elapsed().as_micros() as u64, "vet gate");
        host.scanner = OutputScanner::new(host.tools.keys().cloned().collect());
        if host.components.iter().any(|c| c.scan.action != ScanAction::Off) {
            OutputScanner::warm_up_in_background();
        }
        Ok((host, report))
    }

    /// Checks a found component: its metadata, its tools' names, the lock.
    fn check(
        spec: &ComponentSpec,
        gates: &LoadGates,
        found: Found,
        report: &mut LoadReport,
    ) -> Result<Prepared> {
        let Found { digest, surface, linked, hashed, compiled } = found;
        if compiled {
            report.compiled.push(spec.name.clone());
        }
        let Surface { metadata, functions, imports } = surface;
        for grant in spec.policy.describe() {
            tracing::info!(component = %spec.name, %grant, "grant");
        }
        for warning in spec.policy.ungranted_imports(&imports) {
            tracing::warn!(component = %spec.name, "{warning}: calls that need it will be refused");
        }
        if metadata.is_none() {
            tracing::warn!(component = %spec.name, "no embedded tool metadata: descriptions are generated; build the component with `moat pack`");
        }
        if let Some(metadata) = &metadata
            && let Some(stray) =
                metadata.functions.keys().find(|path| !functions.iter().any(|f| &f.path == *path))
        {
            bail!(
                "its metadata documents `{stray}`, which it does not export (was it packed from another WIT world?)"
            );
        }
        let naming = spec.naming();
        if let Some(unknown) = naming.unknown_aliases(&functions).next() {
            bail!("[components.{}.names] names `{unknown}`, which the component does not export", spec.name);
        }
        let mut tools: Vec<(String, ToolDef, usize)> = Vec::new();
        for (index, function) in functions.iter().enumerate() {
            if let Some(reason) = crate::tools::undeclared(metadata.as_ref(), function) {
                tracing::debug!(component = %spec.name, function = %function.path, %reason, "not a tool");
                continue;
            }
            let signature = match &function.signature {
                Ok(signature) => signature.clone(),
                Err(reason) => {
                    let what = format!("{}: {}", spec.name, function.path);
                    tracing::warn!(function = %what, %reason, "function is not available as a tool");
                    report.unavailable.push((what, reason.to_string()));
                    continue;
                }
            };
            let name = naming.tool_name(function).map_err(anyhow::Error::msg)?;
            if tools.iter().any(|(n, _, _)| n == &name) {
                bail!("tool name `{name}` is already taken");
            }
            let docs = metadata.as_ref().and_then(|m| m.functions.get(&function.path));
            let def = ToolDef::new(name.clone(), &spec.name, function, signature, docs);
            tools.push((name, def, index));
        }
        if let Some(lock) = &gates.lock {
            let Some(approved) = lock.components.get(&spec.name) else {
                bail!(
                    "`{}` is not in moat.lock: review it (`moat vet`), then approve it with `moat lock --update {}`",
                    spec.name,
                    spec.name
                );
            };
            let defs: Vec<ToolDef> = tools.iter().map(|(_, def, _)| def.clone()).collect();
            let current = LockedComponent::new(&digest, &defs, &spec.policy, approved.source.clone());
            let changes = current.changes_since(approved);
            if !changes.is_empty() {
                bail!("{}", lock::refusal(&spec.name, &changes));
            }
        }
        tracing::info!(
            component = %spec.name,
            digest = %digest,
            tools = tools.len(),
            hashed,
            compiled,
            linked = if linked.is_some() { "now" } else { "in the background" },
            "component loaded"
        );
        Ok(Prepared { spec: spec.clone(), digest, linked, functions, tools })
    }

    /// Serves `prepared`'s tools; returns what is left to link, if anything.
    fn register(&mut self, prepared: Prepared) -> Option<PendingLink> {
        let index = self.components.len();
        let spec = prepared.spec;
        for (name, def, function) in prepared.tools {
            self.tools.insert(name, ToolEntry { def, component: index, function });
        }
        let name: Arc<str> = spec.name.as_str().into();
        let (link, pending) = match prepared.linked {
            Some(linked) => (Arc::new(LinkSlot::ready(linked)), None),
            None => {
                let slot = Arc::new(LinkSlot::pending());
                let digest = hex_part(&prepared.digest).to_string();
                let pending = PendingLink {
                    component: name.clone(),
                    path: spec.path.clone(),
                    digest,
                    functions: prepared.functions,
                    slot: slot.clone(),
                };
                (slot, Some(pending))
            }
        };
        self.components.push(LoadedComponent {
            name,
            policy: spec.policy.clone(),
            digest: prepared.digest,
            limits: spec.limits,
            scan: spec.scan,
            link,
            slots: ComponentSlots::new(&spec.limits),
            spare: Arc::default(),
        });
        pending
    }

    /// Every tool, in name order.
    pub fn tools(&self) -> impl Iterator<Item = &ToolDef> {
        self.tools.values().map(|entry| &entry.def)
    }

    pub fn components(&self) -> &[LoadedComponent] {
        &self.components
    }

    pub fn tool(&self, name: &str) -> Option<&ToolDef> {
        self.tools.get(name).map(|entry| &entry.def)
    }

    /// Scans text tool `name` sends the client outside its result (a log or
    /// progress message): the findings, and what its component's settings say
    /// to do with them.
    pub fn scan_notice(&self, name: &str, field: &str, text: &str) -> (ScanAction, Vec<Finding>) {
        let Some(entry) = self.tools.get(name) else { return (ScanAction::Off, Vec::new()) };
        let scan = self.components[entry.component].scan;
        if scan.action == ScanAction::Off {
            return (ScanAction::Off, Vec::new());
        }
        (scan.action, self.scanner.scan_text(field, text, scan.flag_at))
    }

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
        let audit = |outcome: &str, fuel_used: Option<u64>| -> Result<()> {
            let Some(log) = &self.audit else { return Ok(()) };
            log.record(&AuditRecord {
                principal,
                tool: name,
                component: &component.name,
                component_digest: &component.digest,
                arguments: args,
                duration: started.elapsed(),
                fuel_used,
                outcome,
            })
        };
        let params = match entry.def.arguments(args) {
            Ok(params) => params,
            Err(error) => {
                tracing::info!(tool = name, outcome = "invalid-arguments", error = %error, "call refused");
                if let Err(error) = audit("invalid-arguments", None) {
                    return Some(audit_failed(error));
                }
                return Some(CallOutcome::InvalidArguments(error));
            }
        };
        // Once linked (every call after the first few), no waiting and no
        // cancellation future on the way.
        let linked = match component.link.get() {
            Some(linked) => linked.map_err(Some),
            None => tokio::select! {
                _ = cancel.cancelled() => Err(None),
                linked = component.link.wait() => linked.map_err(Some),
            },
        };
        let linked = linked.map_err(|reason| match reason {
            None => CallFailure::Cancelled,
            Some(reason) => CallFailure::Internal(anyhow::anyhow!(
                "component `{}` could not be linked: {reason}",
                component.name
            )),
        });
        let result = match linked {
            Ok(linked) => {
                let call = Call {
                    pre: &linked.pre,
                    func: linked.export(entry.function),
                    params: &params,
                    result_count: usize::from(entry.def.signature.result.is_some()),
                    limits: component.limits,
                    slots: &component.slots,
                    spare: &component.spare,
                    policy: &component.policy,
                    component: &component.name,
                    notices,
                };
                self.runtime.call(call, cancel).await
            }
            Err(failure) => Err(failure),
        };
        let outcome = match result {
            Ok(report) => {
                let redactor = component.policy.redactor();
                log_guest_output(name, &report.output, redactor);
                let outcome = match entry.def.render(report.result.as_ref()) {
                    Ok(rendered) => {
                        let outcome =
                            within_output_limit(redact(rendered, redactor), component.limits.output);
                        self.scan_output(name, component.scan, outcome)
                    }
                    Err(error) => CallOutcome::Failed(CallFailure::Trap {
                        trap: format!("the result cannot be sent as JSON: {error}"),
                        guest_said: None,
                        output: Box::default(),
                    }),
                };
                tracing::info!(
                    tool = name,
                    digest = %component.digest,
                    duration_us = report.duration.as_micros() as u64,
                    fuel_used = report.fuel_used,
                    instance = if report.spare { "spare" } else { "new" },
                    outcome = outcome_label(&outcome),
                    "call"
                );
                if let Err(error) = audit(outcome_label(&outcome), Some(report.fuel_used)) {
                    return Some(audit_failed(error));
                }
                outcome
            }
            Err(failure) => {
                let failure = match failure {
                    CallFailure::Trap { trap, guest_said, output } => {
                        log_guest_output(name, &output, component.policy.redactor());
                        CallFailure::Trap {
                            trap,
                            guest_said: guest_said.map(|said| component.policy.redactor().redact(&said)),
                            output,
                        }
                    }
                    other => other,
                };
                let detail = match &failure {
                    CallFailure::Internal(error) => format!("{error:#}"),
                    other => other.to_string(),
                };
                let outcome = if matches!(failure, CallFailure::Cancelled) { "cancelled" } else { "failed" };
                tracing::warn!(tool = name, digest = %component.digest, outcome, error = %detail, "call");
                if let Err(error) = audit(outcome, None) {
                    return Some(audit_failed(error));
                }
                CallOutcome::Failed(failure)
            }
        };
        Some(outcome)
    }
}

/// Hides the component's secret values in what goes back to the client (the
/// guest should never have had them; this is the second line of defence).
fn redact(rendered: Rendered, redactor: &Redactor) -> Rendered {
    if redactor.is_empty() {
        return rendered;
    }
    match rendered {
        Rendered::Success { text, structured } => Rendered::Success {
            text: redactor.redact(&text),
            structured: structured.map(|value| {
                let redacted = redactor.redact(&value.to_string());
                serde_json::from_str(&redacted).unwrap_or(value)
            }),
        },
        Rendered::ToolError { text } => Rendered::ToolError { text: redactor.redact(&text) },
    }
}

fn within_output_limit(rendered: Rendered, limit: u64) -> CallOutcome {
    let (text, structured, is_error) = match rendered {
        Rendered::Success { text, structured } => (text, structured, false),
        Rendered::ToolError { text } => (text, None, true),
    };
    let size = text.len() as u64;
    if size > limit {
        return CallOutcome::Failed(CallFailure::Limit(LimitExceeded::Output { limit, actual: size }));
    }
    let flagged = Vec::new();
    if is_error {
        CallOutcome::ToolError { text, flagged }
    } else {
        CallOutcome::Success { text, structured, flagged }
    }
}

impl Host {
    /// Output scanning of a result: findings are logged and recorded in the
    /// outcome; with `withhold`, the output is replaced.
    fn scan_output(&self, tool: &str, scan: ScanSettings, outcome: CallOutcome) -> CallOutcome {
        if scan.action == ScanAction::Off {
            return outcome;
        }
        let found = match &outcome {
            // The text of a structured result is its JSON: scanning the value
            // reads each string once, unescaped, and names where it is.
            CallOutcome::Success { structured: Some(value), .. } => {
                self.scanner.scan_value("structuredContent", value, scan.flag_at)
            }
            CallOutcome::Success { text, .. } | CallOutcome::ToolError { text, .. } => {
                self.scanner.scan_text("content[0].text", text, scan.flag_at)
            }
            _ => return outcome,
        };
        if found.is_empty() {
            return outcome;
        }
        for finding in &found {
            tracing::warn!(
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
            (_, CallOutcome::Success { text, structured, .. }) => {
                CallOutcome::Success { text, structured, flagged: found }
            }
            (_, CallOutcome::ToolError { text, .. }) => CallOutcome::ToolError { text, flagged: found },
            (_, other) => other,
        }
    }
}

fn outcome_label(outcome: &CallOutcome) -> &'static str {
    match outcome {
        CallOutcome::Success { flagged, .. } if !flagged.is_empty() => "ok-flagged",
        CallOutcome::Success { .. } => "ok",
        CallOutcome::ToolError { .. } => "tool-error",
        CallOutcome::Withheld { .. } => "withheld",
        CallOutcome::InvalidArguments(_) => "invalid-arguments",
        CallOutcome::Failed(_) => "failed",
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

/// Sizes the instance pool for the largest limits of any component.
fn pool_sizing(config: &Config) -> PoolSizing {
    let mut limits = config.default_limits;
    for spec in &config.components {
        let l = &spec.limits;
        limits.memory = limits.memory.max(l.memory);
        limits.table_elements = limits.table_elements.max(l.table_elements);
        limits.instances = limits.instances.max(l.instances);
        limits.tables = limits.tables.max(l.tables);
        limits.memories = limits.memories.max(l.memories);
    }
    let spares = u32::try_from(config.components.len()).unwrap_or(u32::MAX);
    PoolSizing { concurrent_calls: config.max_concurrent_calls, spares, limits }
}

/// Shared handle used by the MCP layer.
pub type SharedHost = Arc<Host>;

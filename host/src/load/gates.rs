//! The gates a found component passes before it is served: its surface made
//! into tools ([`super::surface`]), the lock (what runs is what was
//! approved), and vet with the other components' tools in view (shadowing).

use anyhow::{Result, bail};

use super::LoadReport;
use super::find::Found;
use super::surface::{ComponentTools, component_tools};
use crate::component::{ExportedFunction, Surface};
use crate::config::{ComponentSpec, LoadGates};
use crate::findings::Severity;
use crate::lock::{self, LockedComponent};
use crate::tools::ToolDef;
use crate::vet::cache::VetCache;
use crate::vet::vet_tools;

/// A component that passed its checks, before the vet gate.
pub(super) struct Prepared {
    pub spec: ComponentSpec,
    pub digest: String,
    pub functions: Vec<ExportedFunction>,
    /// The surface read from the bytes, for the linking thread to check
    /// against the compiled form; `None` when it came from the surface cache.
    pub decoded: Option<Surface>,
    /// The file's size (0 when it was not read).
    pub size: u64,
    pub tools: ComponentTools,
}

impl Prepared {
    pub fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.tools.definitions().map(|def| def.name.as_str())
    }
}

/// Checks a found component: its metadata, its tools' names, the lock.
pub(super) fn check(
    spec: &ComponentSpec,
    gates: &LoadGates,
    found: Found,
    report: &mut LoadReport,
) -> Result<Prepared> {
    let Found { digest, surface, hashed, decoded, size } = found;
    if decoded {
        report.from_bytes.push(spec.name.clone());
    }
    for grant in spec.policy.describe() {
        tracing::info!(component = %spec.name, %grant, "grant");
    }
    for warning in spec.policy.ungranted_imports(&surface.imports) {
        tracing::warn!(component = %spec.name, "{warning}: calls that need it will be refused");
    }
    if surface.metadata.is_none() {
        tracing::warn!(component = %spec.name, "no embedded tool metadata: descriptions are generated; build the component with `moat pack`");
    }
    let tools = component_tools(&spec.naming(), &surface)?;
    for not_a_tool in &tools.not_tools {
        let reason = &not_a_tool.reason;
        if not_a_tool.undeclared {
            tracing::debug!(component = %spec.name, function = %not_a_tool.path, %reason, "not a tool");
        } else {
            let what = format!("{}: {}", spec.name, not_a_tool.path);
            tracing::warn!(function = %what, %reason, "function is not available as a tool");
            report.unavailable.push((what, reason.clone()));
        }
    }
    if let Some(lock) = &gates.lock {
        let Some(approved) = lock.components.get(&spec.name) else {
            bail!(
                "`{}` is not in moat.lock: review it (`moat vet`), then approve it with `moat lock --update {}`",
                spec.name,
                spec.name
            );
        };
        let defs: Vec<ToolDef> = tools.definitions().cloned().collect();
        let current =
            LockedComponent::new(&digest, &defs, tools.offers(), &spec.policy, approved.source.clone());
        let changes = current.changes_since(approved);
        if !changes.is_empty() {
            bail!("{}", lock::refusal(&spec.name, &changes));
        }
    }
    tracing::info!(
        component = %spec.name,
        digest = %digest,
        tools = tools.tools.len(),
        hashed,
        surface = if decoded { "read from the bytes" } else { "cached" },
        "component loaded"
    );
    let functions = surface.functions.clone();
    let decoded = decoded.then_some(surface);
    Ok(Prepared { spec: spec.clone(), digest, functions, decoded, size, tools })
}

/// Vets a component's tools with the other components' tools in view (or
/// takes the result of the same vetting from the cache); every finding is
/// logged, and findings at or above `refuse_at` refuse it.
pub(super) fn vet_gate(
    component: &Prepared,
    others: &[String],
    refuse_at: Option<Severity>,
    cache: Option<&VetCache>,
) -> Result<()> {
    let tools = component.tools.vetted();
    let key = VetCache::key(&tools, others);
    let cached = cache.and_then(|cache| cache.get(&key));
    tracing::debug!(component = %component.spec.name, cached = cached.is_some(), "vetted");
    let results = match cached {
        Some(cached) => cached,
        None => {
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

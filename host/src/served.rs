//! The served set: the components that passed the load pipeline
//! ([`crate::load`]), their tools, resources, resource templates and prompts
//! in name order, and what a call needs to find them. Calls themselves are
//! [`crate::call`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::audit::AuditLog;
use crate::completion::CompletionDef;
use crate::config::{Confirmation, Unconfirmable};
use crate::findings::Finding;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::prompts::PromptDef;
use crate::resources::{ResourceDef, TemplateDef};
use crate::runtime::linked::LinkSlot;
use crate::runtime::sandbox::Spare;
use crate::runtime::{ComponentSlots, Runtime};
use crate::scan::{OutputScanner, ScanAction, ScanSettings};
use crate::tools::ToolDef;

/// One component ready to run.
pub struct LoadedComponent {
    pub name: Arc<str>,
    pub policy: Arc<Policy>,
    pub digest: String,
    pub limits: Limits,
    pub scan: ScanSettings,
    /// Its linked form, there from the start or filled in by the background linker.
    pub(crate) link: Arc<LinkSlot>,
    pub(crate) slots: ComponentSlots,
    pub(crate) spare: Arc<Spare>,
}

/// A served tool, resource, template or prompt: its definition, and where
/// its code is.
pub(crate) struct Entry<D> {
    pub(crate) def: D,
    /// Its component's place in [`Host::components`].
    pub(crate) component: usize,
    /// Its function's place in the component's surface.
    pub(crate) function: usize,
    /// For a prompt or template: its completion function's place, if it has one.
    pub(crate) completion: Option<usize>,
}

/// All loaded components and tools.
pub struct Host {
    pub(crate) runtime: Runtime,
    pub(crate) components: Vec<LoadedComponent>,
    pub(crate) tools: BTreeMap<String, Entry<ToolDef>>,
    /// By URI.
    pub(crate) resources: BTreeMap<String, Entry<ResourceDef>>,
    /// In name order.
    pub(crate) templates: Vec<Entry<TemplateDef>>,
    pub(crate) prompts: BTreeMap<String, Entry<PromptDef>>,
    /// Completion functions by (component, function) place.
    pub(crate) completions: BTreeMap<(usize, usize), CompletionDef>,
    pub(crate) audit: Option<AuditLog>,
    pub(crate) scanner: OutputScanner,
    /// The calls the user must confirm.
    pub(crate) confirm: Confirmation,
    /// How long a call waits for its component to be linked.
    pub(crate) compile_wait: std::time::Duration,
    /// What is counted for `/metrics`.
    pub(crate) metrics: Metrics,
    /// OpenTelemetry export, when `[telemetry]` is set (set by `moat serve`).
    pub(crate) telemetry: Option<crate::telemetry::Telemetry>,
    /// Cancelled when a stopping moat's drain deadline has passed: every
    /// call still running ends as cancelled, with its audit record.
    pub(crate) stopping: tokio_util::sync::CancellationToken,
}

impl Host {
    /// What is counted for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The Prometheus text of `/metrics`, each component's slots read now.
    pub fn metrics_text(&self) -> String {
        for component in &self.components {
            let occupancy = component.slots.occupancy();
            self.metrics.component_occupancy(
                &component.name,
                occupancy.slots,
                occupancy.running,
                occupancy.waiting,
            );
        }
        self.metrics.encode()
    }

    /// How many components are still being compiled and linked after
    /// start-up (their tools are listed; their calls wait).
    pub fn compiling(&self) -> usize {
        self.components.iter().filter(|component| component.link.get().is_none()).count()
    }

    /// Starts exporting to OpenTelemetry as `settings` say.
    pub fn export_telemetry(&mut self, settings: &crate::telemetry::TelemetrySettings) -> anyhow::Result<()> {
        self.telemetry = Some(crate::telemetry::Telemetry::start(settings)?);
        Ok(())
    }

    /// Exports what telemetry has left, and stops it.
    pub async fn stop_telemetry(&self) {
        if let Some(telemetry) = &self.telemetry {
            telemetry.shutdown().await;
        }
    }

    /// Ends every call still running (as cancelled, each with its record).
    pub fn cancel_calls(&self) {
        self.stopping.cancel();
    }

    /// Flushes the audit log to disk, if there is one.
    pub fn sync_audit(&self) -> anyhow::Result<()> {
        self.audit.as_ref().map_or(Ok(()), AuditLog::sync)
    }

    /// Every tool, in name order.
    pub fn tools(&self) -> impl Iterator<Item = &ToolDef> {
        self.tools.values().map(|entry| &entry.def)
    }

    /// Every resource, in URI order.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceDef> {
        self.resources.values().map(|entry| &entry.def)
    }

    /// Every resource template, in name order.
    pub fn templates(&self) -> impl Iterator<Item = &TemplateDef> {
        self.templates.iter().map(|entry| &entry.def)
    }

    /// Every prompt, in name order.
    pub fn prompts(&self) -> impl Iterator<Item = &PromptDef> {
        self.prompts.values().map(|entry| &entry.def)
    }

    /// Whether any component completes arguments.
    pub fn completes(&self) -> bool {
        !self.completions.is_empty()
    }

    pub fn prompt(&self, name: &str) -> Option<&PromptDef> {
        self.prompts.get(name).map(|entry| &entry.def)
    }

    /// Whether a call of tool `name` needs the user's confirmation first.
    pub fn needs_confirmation(&self, name: &str) -> bool {
        self.tools.get(name).is_some_and(|entry| self.confirm.needed(name, entry.def.hints.destructive))
    }

    /// What a call that needs confirmation does when the client cannot ask.
    pub fn unconfirmable(&self) -> Unconfirmable {
        self.confirm.unsupported
    }

    /// The grants of tool `name`'s component, as moat describes them.
    pub fn grants_of(&self, name: &str) -> Vec<String> {
        self.tools
            .get(name)
            .map(|entry| self.components[entry.component].policy.describe())
            .unwrap_or_default()
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
}

/// Shared handle used by the MCP layer.
pub type SharedHost = Arc<Host>;

//! The load pipeline: from the config's components to a [`Host`] ready to
//! serve. Each component goes through these steps, in this order:
//!
//! 1. **find** (`find`): the file; its digest, read and hashed or recalled
//!    by file identity ([`digest_memo`]); its signature, checked on the raw
//!    bytes; its surface, from the surface cache or read from the bytes
//!    without compiling ([`crate::component::decode`]), or, for a component
//!    that is not a WIT world (bare type exports), by compiling it.
//! 2. **tools** ([`surface`]): the surface made into MCP tools, the one
//!    derivation every command uses, with its metadata and names checked.
//! 3. **lock** (`gates`): the definitions, digest and grants against what
//!    `moat.lock` approved.
//! 4. **vet** (`gates`): the definitions read with every other
//!    component's tools in view; findings at `[vet] refuse_at` refuse it.
//! 5. **register**: its tools join the served set; it is compiled (or read
//!    from the compile cache) and linked in the background
//!    ([`crate::runtime::linked`]), and a call waits for its own component
//!    only, up to `[server] compile_wait`.
//!
//! A component that fails a step is refused with its reason and the others
//! are served; two components with one name stop the host (a config error).
//!
//! Start-up does as little as it can before it lists tools: nothing is
//! compiled (but components that are not WIT worlds), components whose file
//! is unchanged and whose surface is cached are not even read, and steps 1
//! to 3 run while the engine is built on another thread.

pub mod digest_memo;
mod find;
mod gates;
pub mod surface;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use self::digest_memo::DigestMemo;
use self::find::{find, find_cached, hex_part};
use self::gates::{Prepared, check, vet_gate};
use crate::audit::AuditLog;
use crate::completion::CompletionDef;
use crate::config::{ComponentSpec, Config};
use crate::prompts::PromptDef;
use crate::resources::{ResourceDef, TemplateDef};
use crate::runtime::cache::CompileCache;
use crate::runtime::linked::{LinkSlot, PendingLink, link_in_background};
use crate::runtime::surface_cache::SurfaceCache;
use crate::runtime::{ComponentSlots, PoolSizing, Runtime};
use crate::scan::{OutputScanner, ScanAction};
use crate::served::{Entry, Host, LoadedComponent};
use crate::tools::ToolDef;
use crate::vet::cache::VetCache;

/// What happened while loading, for the log and for `moat inspect`.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Components refused, with the reason.
    pub refused: Vec<(String, String)>,
    /// Functions that are not tools, with the reason.
    pub unavailable: Vec<(String, String)>,
    /// Components whose surface was read from their bytes (not the surface
    /// cache): compiled, or read from the compile cache, after start-up.
    pub from_bytes: Vec<String>,
}

fn refuse(report: &mut LoadReport, spec: &ComponentSpec, error: &anyhow::Error) {
    let reason = format!("{error:#}");
    tracing::error!(component = %spec.name, path = %spec.path.display(), %reason, "component refused");
    report.refused.push((spec.name.clone(), reason));
}

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
    let audit =
        config.audit_path.as_deref().map(|path| AuditLog::open(path, config.audit_fsync)).transpose()?;
    let memo = cache_dir.as_deref().and_then(|dir| DigestMemo::new(&dir.join("digests")));
    let surfaces = SurfaceCache::new(cache_dir.as_deref());
    let gates = &config.gates;
    let mut report = LoadReport::default();
    // Steps 1 to 3, while the engine is built on another thread.
    let (runtime, checked) = std::thread::scope(|scope| {
        let runtime = scope.spawn(|| {
            Runtime::new(Some(pool_sizing(config)), cache_dir.as_deref(), config.engine)
                .map(|runtime| runtime.with_cache_budget(config.cache_max_size))
        });
        // `None`: to be compiled to read its surface, once there is an engine.
        let checked: Vec<Option<Result<Prepared>>> = config
            .components
            .iter()
            .map(|spec| {
                let found = match find_cached(spec, gates, memo.as_ref(), &surfaces) {
                    Some(found) => Ok(Some(found)),
                    None => find(spec, gates, memo.as_ref(), &surfaces, None),
                };
                found.transpose().map(|found| found.and_then(|found| check(spec, gates, found, &mut report)))
            })
            .collect();
        (runtime.join(), checked)
    });
    let runtime = runtime.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let mut prepared = Vec::new();
    for (spec, checked) in config.components.iter().zip(checked) {
        let checked = checked.unwrap_or_else(|| {
            find(spec, gates, memo.as_ref(), &surfaces, Some(&runtime))
                .and_then(|found| found.context("its surface could not be read"))
                .and_then(|found| check(spec, gates, found, &mut report))
        });
        match checked {
            Ok(component) => prepared.push(component),
            Err(error) => refuse(&mut report, spec, &error),
        }
    }
    let mut served = Served::default();
    let vet_started = std::time::Instant::now();
    let vet_cache = cache_dir.as_deref().and_then(|dir| VetCache::new(&dir.join("vet")));
    let names: Vec<Vec<String>> =
        prepared.iter().map(|p| p.tool_names().map(String::from).collect()).collect();
    for (i, component) in prepared.into_iter().enumerate() {
        // Every other component's tools in view: naming them is shadowing.
        let others: Vec<String> =
            names.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, n)| n.clone()).collect();
        if let Some(error) = served.collision(&component) {
            refuse(&mut report, &component.spec, &error);
            continue;
        }
        match vet_gate(&component, &others, config.gates.vet_refuse_at, vet_cache.as_ref()) {
            Ok(()) => served.register(component),
            Err(error) => refuse(&mut report, &component.spec, &error),
        }
    }
    tracing::debug!(duration_us = vet_started.elapsed().as_micros() as u64, "vet gate");
    link_in_background(runtime.linking(), surfaces, served.pending);
    let scanner = OutputScanner::new(served.tools.keys().cloned().collect());
    if served.components.iter().any(|c| c.scan.action != ScanAction::Off) {
        OutputScanner::warm_up_in_background();
    }
    let Served { components, tools, resources, templates, prompts, completions, .. } = served;
    let confirm = config.confirm.clone();
    let host = Host {
        runtime,
        components,
        tools,
        resources,
        templates,
        prompts,
        completions,
        audit,
        scanner,
        confirm,
        compile_wait: config.compile_wait,
        metrics: Default::default(),
        telemetry: None,
        stopping: Default::default(),
    };
    Ok((host, report))
}

/// The served set as it is built, and what is left to link.
#[derive(Default)]
struct Served {
    components: Vec<LoadedComponent>,
    tools: BTreeMap<String, Entry<ToolDef>>,
    resources: BTreeMap<String, Entry<ResourceDef>>,
    templates: Vec<Entry<TemplateDef>>,
    prompts: BTreeMap<String, Entry<PromptDef>>,
    completions: BTreeMap<(usize, usize), CompletionDef>,
    pending: Vec<PendingLink>,
}

impl Served {
    /// What of `component` another component already serves: a name, a
    /// resource's URI or a template.
    fn collision(&self, component: &Prepared) -> Option<anyhow::Error> {
        let served = &component.tools;
        let taken = |name: &str| {
            self.tools.contains_key(name)
                || self.prompts.contains_key(name)
                || self.resources.values().any(|e| e.def.name == name)
                || self.templates.iter().any(|e| e.def.name == name)
        };
        if let Some(name) = served.names().find(|name| taken(name)) {
            return Some(anyhow::anyhow!("name `{name}` is already served by another component"));
        }
        if let Some((def, _)) = served.resources.iter().find(|(def, _)| self.resources.contains_key(&def.uri))
        {
            return Some(anyhow::anyhow!("resource `{}` is already served by another component", def.uri));
        }
        let template = served
            .templates
            .iter()
            .find(|(def, _)| self.templates.iter().any(|e| e.def.template == def.template));
        template.map(|(def, _)| {
            anyhow::anyhow!(
                "resource template `{}` is already served by another component",
                def.template.text
            )
        })
    }

    /// Step 5: serves what `prepared` offers.
    fn register(&mut self, prepared: Prepared) {
        let index = self.components.len();
        let spec = prepared.spec;
        let offers = prepared.tools;
        let completion_of = |function: usize| {
            offers.completions.iter().find(|(_, _, target)| *target == function).map(|(_, place, _)| *place)
        };
        fn entry<D>(def: D, component: usize, function: usize, completion: Option<usize>) -> Entry<D> {
            Entry { def, component, function, completion }
        }
        for (def, function) in offers.tools {
            self.tools.insert(def.name.clone(), entry(def, index, function, None));
        }
        for (def, function) in offers.resources {
            self.resources.insert(def.uri.clone(), entry(def, index, function, None));
        }
        for (def, function) in offers.templates {
            self.templates.push(entry(def, index, function, completion_of(function)));
        }
        self.templates.sort_by(|a, b| a.def.name.cmp(&b.def.name));
        for (def, function) in offers.prompts {
            self.prompts.insert(def.name.clone(), entry(def, index, function, completion_of(function)));
        }
        for (def, function, _) in offers.completions {
            self.completions.insert((index, function), def);
        }
        let name: Arc<str> = spec.name.as_str().into();
        let link = Arc::new(LinkSlot::pending());
        self.pending.push(PendingLink {
            component: name.clone(),
            path: spec.path.clone(),
            digest: hex_part(&prepared.digest).to_string(),
            functions: prepared.functions,
            decoded: prepared.decoded,
            size: prepared.size,
            slot: link.clone(),
        });
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

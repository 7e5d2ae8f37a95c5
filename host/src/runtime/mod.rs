//! The wasmtime engine and the execution of one call.
//!
//! Owns: the engine (its settings in `engine`), the WASI linker, compiling
//! (through [`cache`]) and pre-instantiating components, and running a call
//! in a fresh instance (the component's spare from [`sandbox`], or one made
//! for it) under its [`Limits`], with cancellation. It knows nothing of
//! config, JSON or MCP: values in, values out, and a [`CallFailure`] that says
//! which limit tripped.

pub mod asks;
pub mod bindings;
pub mod cache;
pub mod call_state;
mod engine;
pub mod linked;
pub mod notices;
pub mod sandbox;
pub mod surface_cache;
#[cfg(test)]
mod swapped_pages;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker, Val};
use wasmtime::{Engine, Trap};

use self::cache::{CompileCache, CompileSource};
use self::call_state::CallState;
pub use self::engine::{EPOCH_TICK, MAX_WASM_STACK, PoolSizing};
use self::engine::{engine_config, spawn_epoch_ticker};
use self::notices::{NoticeRoute, NoticeSink};
use self::sandbox::{Recipe, Sandbox, Spare};
pub use crate::limits::EngineOptions;
use crate::limits::{LimitExceeded, Limits};
use crate::policy::Policy;

/// The engine, its linker and the compile cache, shared by all calls.
pub struct Runtime {
    linking: Linking,
    global_slots: Arc<Semaphore>,
    ticker_stop: Arc<AtomicBool>,
    options: EngineOptions,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// This runtime, with its compile cache kept to `bytes` on disk.
    pub fn with_cache_budget(mut self, bytes: u64) -> Runtime {
        self.linking.cache.set_budget(bytes);
        self
    }

    /// A runtime for serving: pooling allocator sized by `pool`, compile cache in `cache_dir`.
    pub fn new(
        pool: Option<PoolSizing>,
        cache_dir: Option<&Path>,
        options: EngineOptions,
    ) -> Result<Runtime> {
        let engine = match pool {
            Some(pool) => Engine::new(&engine_config(Some(&pool), options)).or_else(|error| {
                tracing::warn!(error = %format!("{error:#}"), "pooling allocator unavailable, allocating instances on demand");
                Engine::new(&engine_config(None, options))
            }),
            None => Engine::new(&engine_config(None, options)),
        }
        .map_err(anyhow::Error::from)
        .context("cannot configure the WebAssembly engine")?;
        let cache = CompileCache::new(&engine, cache_dir)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(&engine, ticker_stop.clone());
        let slots = pool.map_or(crate::limits::DEFAULT_MAX_CONCURRENT_CALLS, |p| p.concurrent_calls);
        Ok(Runtime {
            linking: Linking { engine, linker: Arc::new(OnceLock::new()), cache },
            global_slots: Arc::new(Semaphore::new(slots as usize)),
            ticker_stop,
            options,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.linking.engine
    }

    /// Compiles `bytes` (sha256 `digest`), or loads the compiled form from the cache.
    pub fn compile(&self, digest: &str, bytes: &[u8]) -> Result<(Component, CompileSource)> {
        self.linking.cache.load_or_compile(&self.linking.engine, digest, bytes)
    }

    /// Links `component` against what the host provides. Fails, naming the import,
    /// when the component needs something the host does not offer.
    pub fn pre_instantiate(&self, component: &Component) -> Result<InstancePre<CallState>> {
        self.linking.pre_instantiate(component)
    }

    /// A handle for linking components on another thread.
    pub fn linking(&self) -> Linking {
        self.linking.clone()
    }

    /// Runs `func` of a fresh instance of `pre` with `params`, under `limits`:
    /// the component's spare instance when it has one, else one made now.
    /// The wall clock starts once the call has a running slot.
    pub async fn call(
        &self,
        mut call: Call<'_>,
        cancel: &CancellationToken,
    ) -> Result<CallReport, CallFailure> {
        let limits = call.limits;
        // Admission first (fails at once when every slot and waiting place is
        // taken), then a slot of the component and one of the whole host.
        let Ok(_admitted) = call.slots.admission.try_acquire() else {
            let limit =
                LimitExceeded::Concurrency { running: limits.concurrent_calls, queued: limits.queued_calls };
            return Err(CallFailure::Limit(limit));
        };
        let slots = async {
            let local = call.slots.running.acquire().await;
            // Never closed, so never `None`.
            let global = self.global_slots.clone().acquire_owned().await.ok();
            (local, global)
        };
        let (_running, global_slot) = tokio::select! {
            _ = cancel.cancelled() => return Err(CallFailure::Cancelled),
            permits = slots => permits,
        };
        let started = Instant::now();
        let deadline = started + limits.wall_clock;

        let mut sandbox = match call.spare.take() {
            Some(sandbox) => sandbox,
            None => Sandbox::new(&self.linking.engine, &limits, call.policy, call.component)
                .map_err(CallFailure::Internal)?,
        };
        let mut notices = NoticeSink::new(call.notices.take(), &limits);
        notices.asking = asks::Asking::granted(
            call.policy.elicitation,
            call.policy.sampling,
            call.policy.roots,
            call.policy.elicitation_urls.clone(),
        );
        sandbox.store.data_mut().notices = notices;
        let run = async {
            // Without a spare, the call's deadline covers instantiating too;
            // instantiating and the call each get the fuel budget in full.
            sandbox.arm(&limits, deadline, self.options)?;
            let instance = match sandbox.instance() {
                Some(instance) => instance,
                None => {
                    let instance = sandbox.instantiate(call.pre).await?;
                    sandbox.refuel(&limits, self.options)?;
                    instance
                }
            };
            let store = &mut sandbox.store;
            let func = instance
                .get_func(&mut *store, call.func)
                .ok_or_else(|| wasmtime::format_err!("the export is not a function"))?;
            let mut results = vec![Val::Bool(false); call.result_count];
            func.call_async(&mut *store, call.params, &mut results).await?;
            Ok::<_, wasmtime::Error>(results)
        };
        let outcome = tokio::select! {
            _ = cancel.cancelled() => Outcome::Cancelled,
            result = tokio::time::timeout_at(deadline.into(), run) => match result {
                Ok(Ok(results)) => Outcome::Done(results),
                Ok(Err(error)) => Outcome::Failed(error),
                Err(_) => Outcome::TimedOut,
            },
        };

        sandbox.store.data_mut().notices.finish();
        let fuel_used =
            if self.options.fuel { limits.fuel - sandbox.store.get_fuel().unwrap_or(0) } else { 0 };
        let output = GuestOutput { stdout: sandbox.stdout.contents(), stderr: sandbox.stderr.contents() };
        let tripped = sandbox.store.data().limiter.tripped.clone();
        let spare = sandbox.spare;
        let duration = started.elapsed();
        // The component's own slots are free when this returns; the host's is
        // free once the instance is gone (it bounds the instances in the pool).
        self.after_call(sandbox, global_slot, &call);
        let report = |result| CallReport { result, fuel_used, duration, output: output.clone(), spare };
        match outcome {
            Outcome::Done(mut results) => Ok(report(results.pop())),
            Outcome::Cancelled => Err(CallFailure::Cancelled),
            Outcome::TimedOut => Err(CallFailure::Limit(LimitExceeded::WallClock(limits.wall_clock))),
            Outcome::Failed(error) => Err(classify(error, tripped, &limits, &output)),
        }
    }

    /// When the component needs a spare instance: makes it off the call's
    /// path, after dropping the instance the call used (which resets its
    /// memory for the pool) and then giving the host's slot back. Otherwise
    /// (another task is making one, or one is waiting) the instance is
    /// dropped here, without a task of its own.
    fn after_call(&self, used: Sandbox, global_slot: Option<OwnedSemaphorePermit>, call: &Call<'_>) {
        if !call.spare.claim() {
            drop(used);
            return;
        }
        let next = Recipe {
            engine: self.linking.engine.clone(),
            pre: call.pre.clone(),
            limits: call.limits,
            policy: call.policy.clone(),
            component: call.component.clone(),
            options: self.options,
        };
        let spare = call.spare.clone();
        tokio::spawn(async move {
            drop(used);
            drop(global_slot);
            spare.make(next).await;
        });
    }
}

/// What linking a component needs (the engine, the linker, the compile
/// cache), apart from the runtime, so that components listed from the cache
/// can be linked on another thread while the host already serves. The linker
/// (every WASI and moat host function) is built when first needed, which is
/// after start-up when every component is found in the cache.
#[derive(Clone)]
pub struct Linking {
    engine: Engine,
    linker: Arc<OnceLock<Result<Linker<CallState>, String>>>,
    cache: CompileCache,
}

/// The packages whose interfaces the host's linker provides: WASI 0.2's
/// and `moat:host`'s.
const PROVIDED_PACKAGES: [&str; 8] = [
    "wasi:cli",
    "wasi:clocks",
    "wasi:filesystem",
    "wasi:io",
    "wasi:random",
    "wasi:sockets",
    "wasi:http",
    "moat:host",
];

/// Whether `import` (a component's import name) is an interface of a
/// package the host provides. An import outside them can never be linked,
/// so a component that needs one is refused before its tools are listed;
/// versions and types are checked when the component is linked.
pub fn provides(import: &str) -> bool {
    import.split_once('/').is_some_and(|(package, _)| PROVIDED_PACKAGES.contains(&package))
}

/// A linker with everything the host provides.
fn host_linker(engine: &Engine) -> Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
    // The host interfaces see only the call's notice sink.
    bindings::Imports::add_to_linker::<CallState, wasmtime::component::HasSelf<NoticeSink>>(
        &mut linker,
        |state| &mut state.notices,
    )
    .map_err(anyhow::Error::from)?;
    Ok(linker)
}

impl Linking {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled form of the component at `path` whose sha256 is `digest`
    /// (hex), from the cache. When the cache no longer holds it, the file is
    /// read and compiled again, provided it still has that digest: what runs
    /// is always what was checked and listed. Also says whether it was
    /// compiled now.
    pub fn load(&self, path: &Path, digest: &str) -> Result<(Component, bool)> {
        if let Some(component) = self.cache.load(&self.engine, digest) {
            return Ok((component, false));
        }
        let file = crate::component::ComponentFile::read(path)?;
        if file.digest_hex() != digest {
            anyhow::bail!(
                "{} changed after its tools were listed (its digest is now {}); restart moat to check it again",
                path.display(),
                file.digest
            );
        }
        let component =
            self.cache.compile(&self.engine, digest, &file.bytes).context("not a valid component")?;
        Ok((component, true))
    }

    pub fn pre_instantiate(&self, component: &Component) -> Result<InstancePre<CallState>> {
        let linker =
            self.linker.get_or_init(|| host_linker(&self.engine).map_err(|error| format!("{error:#}")));
        let linker =
            linker.as_ref().map_err(|error| anyhow::anyhow!("cannot build the host's linker: {error}"))?;
        linker.instantiate_pre(component).map_err(anyhow::Error::from)
    }
}

enum Outcome {
    Done(Vec<Val>),
    Failed(wasmtime::Error),
    TimedOut,
    Cancelled,
}

/// One call to make.
pub struct Call<'a> {
    pub pre: &'a InstancePre<CallState>,
    pub func: &'a ComponentExportIndex,
    pub params: &'a [Val],
    /// 0 or 1: component functions return at most one value.
    pub result_count: usize,
    pub limits: Limits,
    /// The component's own concurrency slots.
    pub slots: &'a ComponentSlots,
    /// Where the component keeps its spare instance.
    pub spare: &'a Arc<Spare>,
    /// What the component is granted.
    pub policy: &'a Arc<Policy>,
    /// The component's name, for egress logs.
    pub component: &'a Arc<str>,
    /// Where the guest's log messages and progress reports go, if anywhere.
    pub notices: Option<NoticeRoute>,
}

/// A component's running slots and waiting places.
#[derive(Debug)]
pub struct ComponentSlots {
    /// Running plus waiting calls.
    admission: Semaphore,
    running: Semaphore,
    /// How many of each there are.
    admission_capacity: usize,
    running_capacity: usize,
}

/// How full a component's slots are, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupancy {
    /// Calls it may run at once (`concurrent_calls`).
    pub slots: usize,
    /// Calls running.
    pub running: usize,
    /// Calls admitted and waiting for a running slot (at most `queued_calls`).
    pub waiting: usize,
}

impl ComponentSlots {
    pub fn new(limits: &Limits) -> Self {
        let running = limits.concurrent_calls as usize;
        let admission = running + limits.queued_calls as usize;
        ComponentSlots {
            admission: Semaphore::new(admission),
            running: Semaphore::new(running),
            admission_capacity: admission,
            running_capacity: running,
        }
    }

    pub fn occupancy(&self) -> Occupancy {
        let running = self.running_capacity - self.running.available_permits();
        let admitted = self.admission_capacity - self.admission.available_permits();
        Occupancy { slots: self.running_capacity, running, waiting: admitted.saturating_sub(running) }
    }
}

/// What a finished call produced.
#[derive(Debug)]
pub struct CallReport {
    pub result: Option<Val>,
    pub fuel_used: u64,
    pub duration: Duration,
    pub output: GuestOutput,
    /// Whether the call ran in its component's spare instance.
    pub spare: bool,
}

/// Captured guest stdout and stderr: (kept bytes, bytes dropped past the cap).
#[derive(Debug, Clone, Default)]
pub struct GuestOutput {
    pub stdout: (Vec<u8>, u64),
    pub stderr: (Vec<u8>, u64),
}

impl GuestOutput {
    /// What the guest last said on stderr before failing: a Rust panic's
    /// `panicked at FILE:LINE:` line with its message, or else the last line.
    /// At most 300 characters.
    pub fn last_stderr_line(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.stderr.0);
        // A Python exception (componentize-py prints the traceback, then its
        // runtime panics with a generic message): the exception's own line.
        if let Some(traceback) = text.rfind("Traceback (most recent call last):")
            && let Some(exception) = text[traceback..].lines().skip(1).find(|l| !l.starts_with(' '))
        {
            return Some(exception.trim().chars().take(300).collect());
        }
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let said = match lines.iter().rposition(|l| l.contains("panicked at")) {
            Some(start) => lines[start..]
                .iter()
                .take_while(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            None => lines.last()?.to_string(),
        };
        Some(said.chars().take(300).collect())
    }
}

/// Why a call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    #[error("{0}")]
    Limit(LimitExceeded),
    #[error("the tool trapped: {trap}{}", guest_said.as_ref().map(|s| format!(" (guest stderr: {s})")).unwrap_or_default())]
    Trap {
        trap: String,
        guest_said: Option<String>,
        /// Everything the guest wrote, for the host's log (a Python traceback
        /// or a JavaScript stack is many lines above the last).
        output: Box<GuestOutput>,
    },
    /// The guest returned, but what it returned may not reach the client
    /// (a content block that fails its checks, secret bytes in a binary).
    #[error("the result cannot be sent: {0}")]
    Unsendable(String),
    /// The user did not confirm the call (or could not be asked): the guest
    /// did not run.
    #[error("{0}")]
    NotConfirmed(String),
    #[error("the call was cancelled")]
    Cancelled,
    /// The component was not compiled and linked within `[server]
    /// compile_wait`: the guest did not run.
    #[error("{0}")]
    NotReady(String),
    /// The guest's questions go to the client in the result
    /// ([`asks::Suspended`]); the client calls again with the answers.
    #[error("the call stopped to wait for the client's answers")]
    Suspended,
    /// The guest needs client capabilities the client did not declare
    /// ([`asks::Undeclared`]), by name.
    #[error("the client did not declare {}, which this call needs", .0.join(", "))]
    Undeclared(Vec<&'static str>),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Turns a wasmtime error into the limit or trap that caused it.
fn classify(
    error: wasmtime::Error,
    tripped: Option<LimitExceeded>,
    limits: &Limits,
    output: &GuestOutput,
) -> CallFailure {
    if let Some(limit) = tripped {
        return CallFailure::Limit(limit);
    }
    if let Some(limit) = error.downcast_ref::<LimitExceeded>() {
        return CallFailure::Limit(limit.clone());
    }
    if error.downcast_ref::<asks::Suspended>().is_some() {
        return CallFailure::Suspended;
    }
    if let Some(asks::Undeclared(names)) = error.downcast_ref::<asks::Undeclared>() {
        return CallFailure::Undeclared(names.clone());
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        match trap {
            Trap::OutOfFuel => return CallFailure::Limit(LimitExceeded::Fuel(limits.fuel)),
            Trap::Interrupt => {
                return CallFailure::Limit(LimitExceeded::WallClock(limits.wall_clock));
            }
            Trap::StackOverflow => {
                return CallFailure::Limit(LimitExceeded::Stack(MAX_WASM_STACK as u64));
            }
            other => {
                return CallFailure::Trap {
                    trap: other.to_string().trim_start_matches("wasm trap: ").to_string(),
                    guest_said: output.last_stderr_line(),
                    output: Box::new(output.clone()),
                };
            }
        }
    }
    let text = format!("{error:#}");
    for (needle, what, limit) in [
        ("instance count too high", "instances", limits.instances),
        ("table count too high", "tables", limits.tables),
        ("memory count too high", "linear memories", limits.memories),
    ] {
        if text.contains(needle) {
            return CallFailure::Limit(LimitExceeded::Count { what, limit });
        }
    }
    CallFailure::Internal(anyhow::Error::from(error))
}

#[cfg(test)]
mod tests {
    use super::{ComponentSlots, GuestOutput, Occupancy};
    use crate::limits::Limits;

    #[test]
    fn occupancy_counts_running_and_waiting_calls() {
        let limits = Limits { concurrent_calls: 2, queued_calls: 3, ..Limits::default() };
        let slots = ComponentSlots::new(&limits);
        assert_eq!(slots.occupancy(), Occupancy { slots: 2, running: 0, waiting: 0 });
        let admitted: Vec<_> = (0..4).map(|_| slots.admission.try_acquire().unwrap()).collect();
        let running: Vec<_> = (0..2).map(|_| slots.running.try_acquire().unwrap()).collect();
        assert_eq!(slots.occupancy(), Occupancy { slots: 2, running: 2, waiting: 2 });
        drop(running);
        drop(admitted);
        assert_eq!(slots.occupancy(), Occupancy { slots: 2, running: 0, waiting: 0 });
    }

    fn stderr(text: &str) -> GuestOutput {
        GuestOutput { stderr: (text.as_bytes().to_vec(), 0), ..GuestOutput::default() }
    }

    #[test]
    fn what_the_guest_said_is_the_panic_or_the_python_exception() {
        let rust = stderr(
            "log line\nthread '<unnamed>' panicked at src/lib.rs:3:5:\nboom\nnote: run with `RUST_BACKTRACE=1` for a backtrace\n",
        );
        assert_eq!(rust.last_stderr_line().unwrap(), "thread '<unnamed>' panicked at src/lib.rs:3:5: boom");
        let python = stderr(
            "Traceback (most recent call last):\n  File \"/0/app.py\", line 41, in analyse\n\
             KeyError: 'x'\n\nthread '<unnamed>' (1) panicked at runtime/src/lib.rs:1293:29:\n\
             Python function threw an unexpected exception\n",
        );
        assert_eq!(python.last_stderr_line().unwrap(), "KeyError: 'x'");
    }
}

//! The instance each component keeps ready for its next call.
//!
//! Owns: [`Sandbox`] (one call's store, with its WASI context, its captured
//! output and, once made, its instance) and [`Spare`], the one sandbox a
//! component keeps instantiated between calls.
//!
//! Isolation does not change: a sandbox serves exactly one call and is
//! dropped after it; nothing is ever handed back. What changes is when the
//! work is done. A call takes an instance made after the previous call had its
//! result, and the instance it used is dropped (its memory reset for the
//! pooling allocator) after it has its own, instead of both on the way to an
//! answer. The pool holds one instance per component more than the host's
//! concurrent calls for this.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;
use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Engine, Store, UpdateDeadline};

use super::EngineOptions;
use super::call_state::{CallState, CapturedOutput};
use crate::limits::{LimitExceeded, Limits};
use crate::policy::Policy;

/// A store granting what the component's policy grants, under its limits,
/// with the component instantiated in it or about to be.
pub struct Sandbox {
    pub store: Store<CallState>,
    instance: Option<Instance>,
    pub stdout: CapturedOutput,
    pub stderr: CapturedOutput,
    /// Made before the call that uses it.
    pub spare: bool,
}

impl Sandbox {
    /// A fresh store with nothing instantiated in it yet.
    pub fn new(
        engine: &Engine,
        limits: &Limits,
        policy: &Arc<Policy>,
        component: &Arc<str>,
    ) -> Result<Sandbox> {
        let stdout = CapturedOutput::new(limits.guest_log);
        let stderr = CapturedOutput::new(limits.guest_log);
        let state = CallState::new(limits, policy, component, &stdout, &stderr, None)?;
        let mut store = Store::new(engine, state);
        store.limiter(|state| &mut state.limiter);
        Ok(Sandbox { store, instance: None, stdout, stderr, spare: false })
    }

    /// A full fuel budget, and a wall clock that runs out at `deadline`: set
    /// when a call takes the sandbox, so that neither is what making a spare
    /// left over.
    pub fn arm(
        &mut self,
        limits: &Limits,
        deadline: Instant,
        options: EngineOptions,
    ) -> wasmtime::Result<()> {
        self.refuel(limits, options)?;
        if options.epoch_interruption {
            let wall_clock = limits.wall_clock;
            self.store.set_epoch_deadline(1);
            self.store.epoch_deadline_callback(move |_| {
                if Instant::now() >= deadline {
                    Err(wasmtime::Error::new(LimitExceeded::WallClock(wall_clock)))
                } else {
                    // Hand control back to the executor every tick, so a timeout or a
                    // cancellation can drop a guest that never calls the host.
                    Ok(UpdateDeadline::Yield(1))
                }
            });
        }
        Ok(())
    }

    /// A full fuel budget (again, after instantiating used some).
    pub fn refuel(&mut self, limits: &Limits, options: EngineOptions) -> wasmtime::Result<()> {
        if options.fuel {
            self.store.set_fuel(limits.fuel)?;
        }
        Ok(())
    }

    /// The component's instance in this store, if it is made.
    pub fn instance(&self) -> Option<Instance> {
        self.instance
    }

    /// Instantiates the component in this store.
    pub async fn instantiate(&mut self, pre: &InstancePre<CallState>) -> wasmtime::Result<Instance> {
        let instance = pre.instantiate_async(&mut self.store).await?;
        self.instance = Some(instance);
        Ok(instance)
    }
}

/// What making one of a component's sandboxes takes, owned, so that a task
/// of its own can do it.
pub struct Recipe {
    pub engine: Engine,
    pub pre: InstancePre<CallState>,
    pub limits: Limits,
    pub policy: Arc<Policy>,
    pub component: Arc<str>,
    pub options: EngineOptions,
}

impl Recipe {
    /// An instantiated sandbox, within the component's own wall clock.
    async fn make(&self) -> Result<Sandbox> {
        let deadline = Instant::now() + self.limits.wall_clock;
        let mut sandbox = Sandbox::new(&self.engine, &self.limits, &self.policy, &self.component)?;
        sandbox.arm(&self.limits, deadline, self.options)?;
        tokio::time::timeout_at(deadline.into(), sandbox.instantiate(&self.pre))
            .await
            .map_err(|_| LimitExceeded::WallClock(self.limits.wall_clock))??;
        sandbox.spare = true;
        Ok(sandbox)
    }
}

/// A component's spare sandbox: at most one, stored or being made.
#[derive(Default)]
pub struct Spare {
    ready: Mutex<Option<Sandbox>>,
    making: AtomicBool,
    /// Set when a spare could not be made: the component's calls then make
    /// their own instance, as they would without spares, and the reason is
    /// theirs to report.
    given_up: AtomicBool,
}

impl Spare {
    /// The spare sandbox, if there is one; the next call finds none until
    /// [`Spare::make`] has made another.
    pub fn take(&self) -> Option<Sandbox> {
        self.ready.lock().expect("spare lock").take()
    }

    /// Claims the making of the next spare: `false` when there is one, one
    /// is being made, or spares were given up.
    pub fn claim(&self) -> bool {
        if self.given_up.load(Ordering::Relaxed) || self.making.swap(true, Ordering::AcqRel) {
            return false;
        }
        // Checked after claiming `making`: a spare stored by the task that
        // held it before is seen here, and never replaced by a second one.
        if self.ready.lock().expect("spare lock").is_some() {
            self.making.store(false, Ordering::Release);
            return false;
        }
        true
    }

    /// Makes and stores the spare whose making was claimed.
    pub async fn make(&self, recipe: Recipe) {
        match recipe.make().await {
            Ok(sandbox) => *self.ready.lock().expect("spare lock") = Some(sandbox),
            Err(error) => {
                self.given_up.store(true, Ordering::Relaxed);
                tracing::info!(
                    component = %recipe.component,
                    error = %format!("{error:#}"),
                    "no spare instances for this component: its calls make their own"
                );
            }
        }
        self.making.store(false, Ordering::Release);
    }
}

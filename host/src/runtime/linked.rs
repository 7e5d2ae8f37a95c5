//! Components whose tools are listed before they are linked.
//!
//! Owns: a component's linked form ([`Linked`]: the pre-instantiated component
//! and where each of its functions is), the slot a call waits on until it is
//! there ([`LinkSlot`]), and the thread that fills the slots. Every load gate
//! (signature, digest, lock, vet) has already passed on the component's
//! surface when it gets here, read from the surface cache or from the bytes
//! ([`crate::component::decode`]); what is left is compiling it (or reading
//! its compiled form from the cache) and linking it. A surface read from the
//! bytes is checked against the compiled form before any call runs, then
//! cached.
//!
//! The thread takes components in this order: those in the cache first (a
//! few milliseconds each), then the smallest first; a component a call is
//! waiting for goes before all others.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use tokio::sync::watch;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

use super::Linking;
use super::call_state::CallState;
use super::surface_cache::SurfaceCache;
use crate::component::{self, ExportedFunction, Surface};

/// A component ready to instantiate.
pub struct Linked {
    pub pre: InstancePre<CallState>,
    /// Where each function of the component's surface is, in surface order.
    exports: Vec<ComponentExportIndex>,
}

impl Linked {
    /// Fails when the compiled component lacks a function of `functions`,
    /// which would mean the surface was not read from it.
    pub fn new(
        component: &Component,
        pre: InstancePre<CallState>,
        functions: &[ExportedFunction],
    ) -> Result<Linked> {
        let exports = functions
            .iter()
            .map(|function| {
                component::export_index(component, function)
                    .with_context(|| format!("the compiled component does not export `{}`", function.path))
            })
            .collect::<Result<_>>()?;
        Ok(Linked { pre, exports })
    }

    /// Where function `index` of the surface is.
    pub fn export(&self, index: usize) -> &ComponentExportIndex {
        &self.exports[index]
    }
}

/// A component's linked form, filled in by the linking thread.
pub struct LinkSlot {
    linked: OnceLock<Result<Linked, String>>,
    filled: watch::Sender<bool>,
    /// A call waits for it: the linking thread takes it next.
    wanted: AtomicBool,
}

impl LinkSlot {
    pub fn pending() -> LinkSlot {
        LinkSlot {
            linked: OnceLock::new(),
            filled: watch::Sender::new(false),
            wanted: AtomicBool::new(false),
        }
    }

    fn fill(&self, result: Result<Linked, String>) {
        // Only the linking thread fills a pending slot; the first result stays.
        let _ = self.linked.set(result);
        self.filled.send_replace(true);
    }

    /// The linked component, or why it could not be linked; `None` while
    /// it is being linked.
    pub fn get(&self) -> Option<Result<&Linked, &str>> {
        self.linked.get().map(|result| result.as_ref().map_err(String::as_str))
    }

    /// Like [`LinkSlot::get`], waiting for it if need be; a component a
    /// call waits for is linked before those no call is waiting for.
    pub async fn wait(&self) -> Result<&Linked, &str> {
        if self.linked.get().is_none() {
            self.wanted.store(true, Ordering::Relaxed);
            let mut filled = self.filled.subscribe();
            // The sender lives in `self`, so the channel cannot close.
            let _ = filled.wait_for(|filled| *filled).await;
        }
        self.get().expect("a filled slot holds a result")
    }
}

/// A component listed before it was linked, to be linked.
pub struct PendingLink {
    pub component: Arc<str>,
    pub path: PathBuf,
    /// Hex sha256 of the file, as checked at load.
    pub digest: String,
    pub functions: Vec<ExportedFunction>,
    /// The surface read from the bytes, when it was not in the surface
    /// cache: checked against the compiled form, then cached.
    pub decoded: Option<Surface>,
    /// The file's size, to take small components first.
    pub size: u64,
    pub slot: Arc<LinkSlot>,
}

/// The linking thread's nice value (a share of a busy core of about a tenth
/// of the serving threads'). On Linux, it applies to the calling thread only.
const BACKGROUND_NICE: i32 = 10;

/// Links `pending` components on a thread of their own, filling each slot as
/// it goes (see the module's comment for the order); a failure is logged and
/// given to the calls that wait.
pub fn link_in_background(linking: Linking, surfaces: SurfaceCache, mut pending: Vec<PendingLink>) {
    if pending.is_empty() {
        return;
    }
    pending.sort_by_key(|p| (p.decoded.is_some(), p.size));
    let slots: Vec<Arc<LinkSlot>> = pending.iter().map(|p| p.slot.clone()).collect();
    let queue = Mutex::new(pending);
    let spawned = std::thread::Builder::new().name("moat-link".into()).spawn(move || {
        // Serving comes first: linking for calls yet to come yields the
        // cores to the protocol (at start-up, the client's own requests).
        // Failing to lower the priority changes nothing else.
        let _ = rustix::process::setpriority_process(None, BACKGROUND_NICE);
        while let Some(pending) = next(&queue) {
            let slot = pending.slot.clone();
            // A panic must not leave calls waiting forever.
            let linked =
                std::panic::catch_unwind(AssertUnwindSafe(|| link_one(&linking, &surfaces, pending)));
            if linked.is_err() {
                slot.fill(Err("linking failed unexpectedly (a panic; see the log)".into()));
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the linking thread");
        for slot in slots {
            slot.fill(Err(format!("cannot start the linking thread: {error}")));
        }
    }
}

/// The first component a call waits for, else the first in order.
fn next(queue: &Mutex<Vec<PendingLink>>) -> Option<PendingLink> {
    let mut queue = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if queue.is_empty() {
        return None;
    }
    let at = queue.iter().position(|p| p.slot.wanted.load(Ordering::Relaxed)).unwrap_or(0);
    Some(queue.remove(at))
}

fn link_one(linking: &Linking, surfaces: &SurfaceCache, pending: PendingLink) {
    let started = std::time::Instant::now();
    let mut compiled = false;
    let result = linking
        .load(&pending.path, &pending.digest)
        .and_then(|(component, compiled_now)| {
            compiled = compiled_now;
            if let Some(decoded) = &pending.decoded {
                let compiled = Surface::of(linking.engine(), &component, decoded.metadata.clone());
                if compiled != *decoded {
                    anyhow::bail!(
                        "its compiled form does not export what was read from its bytes and listed; \
                         it is not run (this is a bug in moat: please report it with the component)"
                    );
                }
            }
            let pre = linking
                .pre_instantiate(&component)
                .context("it needs something this host does not provide")?;
            Linked::new(&component, pre, &pending.functions)
        })
        .map_err(|error| format!("{error:#}"));
    match &result {
        Ok(_) => {
            if let Some(decoded) = &pending.decoded {
                surfaces.put(&pending.digest, decoded);
            }
            tracing::info!(
                component = %pending.component,
                compiled,
                duration_us = started.elapsed().as_micros() as u64,
                "component linked"
            );
        }
        Err(reason) => tracing::error!(
            component = %pending.component,
            path = %pending.path.display(),
            %reason,
            "component could not be linked; its calls fail"
        ),
    }
    pending.slot.fill(result);
}

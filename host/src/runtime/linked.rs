//! Components whose tools are listed before they are linked.
//!
//! Owns: a component's linked form ([`Linked`]: the pre-instantiated component
//! and where each of its functions is), the slot a call waits on until it is
//! there ([`LinkSlot`]), and the thread that fills the slots of components
//! listed from the compile cache. Every load gate (signature, digest, lock,
//! vet) has already passed on the cached surface when a component gets here;
//! what is left is deserialising the compiled code and linking it.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use tokio::sync::watch;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

use super::Linking;
use super::call_state::CallState;
use crate::component::{self, ExportedFunction};

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

/// A component's linked form, there from the start or filled in later.
pub struct LinkSlot {
    linked: OnceLock<Result<Linked, String>>,
    filled: watch::Sender<bool>,
}

impl LinkSlot {
    pub fn ready(linked: Linked) -> LinkSlot {
        let slot = LinkSlot::pending();
        slot.fill(Ok(linked));
        slot
    }

    pub fn pending() -> LinkSlot {
        LinkSlot { linked: OnceLock::new(), filled: watch::Sender::new(false) }
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

    /// Like [`LinkSlot::get`], waiting for it if need be.
    pub async fn wait(&self) -> Result<&Linked, &str> {
        if self.linked.get().is_none() {
            let mut filled = self.filled.subscribe();
            // The sender lives in `self`, so the channel cannot close.
            let _ = filled.wait_for(|filled| *filled).await;
        }
        self.get().expect("a filled slot holds a result")
    }
}

/// A component listed from the cache, to be linked.
pub struct PendingLink {
    pub component: Arc<str>,
    pub path: PathBuf,
    /// Hex sha256 of the file, as checked at load.
    pub digest: String,
    pub functions: Vec<ExportedFunction>,
    pub slot: Arc<LinkSlot>,
}

/// The linking thread's nice value (a share of a busy core of about a tenth
/// of the serving threads'). On Linux, it applies to the calling thread only.
const BACKGROUND_NICE: i32 = 10;

/// Links `pending` components in order on a thread of their own, filling each
/// slot as it goes; a failure is logged and given to the calls that wait.
pub fn link_in_background(linking: Linking, pending: Vec<PendingLink>) {
    if pending.is_empty() {
        return;
    }
    let slots: Vec<Arc<LinkSlot>> = pending.iter().map(|p| p.slot.clone()).collect();
    let spawned = std::thread::Builder::new().name("moat-link".into()).spawn(move || {
        // Serving comes first: linking for calls yet to come yields the
        // cores to the protocol (at start-up, the client's own requests).
        // Failing to lower the priority changes nothing else.
        let _ = rustix::process::setpriority_process(None, BACKGROUND_NICE);
        for pending in pending {
            let slot = pending.slot.clone();
            // A panic must not leave calls waiting forever.
            let linked = std::panic::catch_unwind(AssertUnwindSafe(|| link_one(&linking, pending)));
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

fn link_one(linking: &Linking, pending: PendingLink) {
    let started = std::time::Instant::now();
    let result = linking
        .load(&pending.path, &pending.digest)
        .and_then(|component| {
            let pre = linking
                .pre_instantiate(&component)
                .context("it needs something this host does not provide")?;
            Linked::new(&component, pre, &pending.functions)
        })
        .map_err(|error| format!("{error:#}"));
    match &result {
        Ok(_) => tracing::debug!(
            component = %pending.component,
            duration_us = started.elapsed().as_micros() as u64,
            "linked"
        ),
        Err(reason) => tracing::error!(
            component = %pending.component,
            path = %pending.path.display(),
            %reason,
            "component listed from the cache could not be linked; its calls fail"
        ),
    }
    pending.slot.fill(result);
}

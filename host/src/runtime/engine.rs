//! The wasmtime engine's settings: the component model, fuel and epochs, the
//! stack sizes, the pooling allocator sized from the largest limits, and the
//! thread that advances the epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::limits::{EngineOptions, Limits};

/// How often the epoch advances: the granularity of wall-clock enforcement and
/// of cancellation inside running guest code.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// WebAssembly stack per call; deeper recursion traps with a stack limit error.
pub const MAX_WASM_STACK: usize = 1024 * 1024;

/// Bytes of each pooled linear memory and table reset in place on reuse
/// (beyond this, pages are returned to the kernel).
const KEEP_RESIDENT: usize = 2 * 1024 * 1024;

/// Host stack for the async fiber running a call: the wasm stack plus room for
/// the host functions it calls into.
const ASYNC_STACK: usize = MAX_WASM_STACK + 1024 * 1024;

/// Sizes the pooling allocator from the largest limits any component has.
#[derive(Debug, Clone, Copy)]
pub struct PoolSizing {
    /// Calls in flight across the host (one component instance each).
    pub concurrent_calls: u32,
    /// Instances kept ready for a next call: one per component.
    pub spares: u32,
    pub limits: Limits,
}

pub(super) fn engine_config(pool: Option<&PoolSizing>, options: EngineOptions) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(options.fuel);
    config.epoch_interruption(options.epoch_interruption);
    config.max_wasm_stack(MAX_WASM_STACK);
    config.async_stack_size(ASYNC_STACK);
    if let Some(pool) = pool {
        // A finished call's instance is dropped before its slot is free again,
        // so calls in flight never hold more instances than there are slots.
        let slots = pool.concurrent_calls.saturating_add(pool.spares);
        let limits = &pool.limits;
        let mut pooling = PoolingAllocationConfig::new();
        pooling
            .total_component_instances(slots)
            .total_stacks(slots)
            .max_core_instances_per_component(limits.instances)
            .total_core_instances(slots.saturating_mul(limits.instances))
            .max_memories_per_component(limits.memories)
            .total_memories(slots.saturating_mul(limits.memories))
            .max_tables_per_component(limits.tables)
            .total_tables(slots.saturating_mul(limits.tables))
            .max_memory_size(usize::try_from(limits.memory).unwrap_or(usize::MAX))
            .table_elements(usize::try_from(limits.table_elements).unwrap_or(usize::MAX))
            // Reset a returning instance's memory and tables in place (only the
            // pages it dirtied, found with PAGEMAP_SCAN on Linux 6.7+; a memset
            // of the low addresses elsewhere), instead of madvise: no TLB
            // shootdowns and no page faults on the next call. Memory still goes
            // back to its initial image, so nothing leaks from call to call:
            // pages swapped out meanwhile included, which takes moat's copy of
            // wasmtime (vendor/README.md; the test is swapped_pages.rs).
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the runtime is dropped.
pub(super) fn spawn_epoch_ticker(engine: &Engine, stop: Arc<AtomicBool>) {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("moat-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .expect("spawn the epoch ticker thread");
}

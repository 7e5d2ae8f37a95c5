//! Per call as moat makes one: a store with a WASI context, the component
//! instantiated from its `InstancePre`, `add` called, the store dropped; timed
//! under wasmtime 48.0.8 (crates.io's, without moat's patch) and 50.0.1.
//!
//!     wasmtime-versions 48|50 CALLS COMPONENT.wasm
//!
//! The pooling allocator is configured as moat configures it, except for what
//! two variables change: `KEEP` (bytes kept resident and reset in place, default
//! moat's 2 MiB) and `SCAN` (`1`, the default: find dirty pages with Linux's
//! PAGEMAP_SCAN; `0`: reset the first `KEEP` bytes and decommit the rest).

macro_rules! per_call {
    ($module:ident, $wasmtime:ident, $wasi:ident) => {
        mod $module {
            use std::time::{Duration, Instant};

            use anyhow::{Result, anyhow};
            use $wasi::{WasiCtx, WasiCtxView, WasiView};
            use $wasmtime::component::{Component, Linker, ResourceTable};
            use $wasmtime::{
                Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
            };

            struct State {
                wasi: WasiCtx,
                table: ResourceTable,
            }

            impl WasiView for State {
                fn ctx(&mut self) -> WasiCtxView<'_> {
                    WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
                }
            }

            pub async fn time(calls: usize, path: &str, keep: usize, scan: bool) -> Result<Duration> {
                let mut pooling = PoolingAllocationConfig::new();
                pooling
                    .total_component_instances(8)
                    .total_stacks(8)
                    .total_core_instances(80)
                    .total_memories(8)
                    .total_tables(80)
                    .max_memory_size(64 << 20)
                    .linear_memory_keep_resident(keep)
                    .table_keep_resident(keep)
                    .pagemap_scan(if scan { Enabled::Auto } else { Enabled::No });
                let mut config = Config::new();
                config.wasm_component_model(true).consume_fuel(true).epoch_interruption(true);
                config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
                let engine = Engine::new(&config).map_err(|e| anyhow!("{e}"))?;
                let component = Component::from_file(&engine, path).map_err(|e| anyhow!("{e}"))?;
                let mut linker: Linker<State> = Linker::new(&engine);
                $wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow!("{e}"))?;
                let pre = linker.instantiate_pre(&component).map_err(|e| anyhow!("{e}"))?;
                let began = Instant::now();
                for call in 0..calls as i64 {
                    let state = State { wasi: WasiCtx::builder().build(), table: ResourceTable::new() };
                    let mut store = Store::new(&engine, state);
                    store.set_fuel(u64::MAX / 2).map_err(|e| anyhow!("{e}"))?;
                    store.set_epoch_deadline(1 << 40);
                    let instance = pre.instantiate_async(&mut store).await.map_err(|e| anyhow!("{e}"))?;
                    let add = instance
                        .get_typed_func::<(i64, i64), (i64,)>(&mut store, "add")
                        .map_err(|e| anyhow!("{e}"))?;
                    let (sum,) = add.call_async(&mut store, (call, 2)).await.map_err(|e| anyhow!("{e}"))?;
                    anyhow::ensure!(sum == call + 2, "add({call}, 2) gave {sum}");
                }
                Ok(began.elapsed())
            }
        }
    };
}

per_call!(v48, wasmtime48, wasi48);
per_call!(v50, wasmtime50, wasi50);

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, version, calls, path] = &args[..] else {
        anyhow::bail!("usage: wasmtime-versions 48|50 CALLS COMPONENT.wasm");
    };
    let calls: usize = calls.parse()?;
    let keep = std::env::var("KEEP").map_or(Ok(2 << 20), |keep| keep.parse())?;
    let scan = std::env::var("SCAN").map_or(true, |scan| scan != "0");
    let took = match version.as_str() {
        "48" => v48::time(calls, path, keep, scan).await?,
        "50" => v50::time(calls, path, keep, scan).await?,
        other => anyhow::bail!("no wasmtime {other} here: 48 or 50"),
    };
    println!(
        "wasmtime {version}  keep {keep}  scan {scan}  {:.2} µs/call over {calls} calls",
        took.as_secs_f64() * 1e6 / calls as f64
    );
    Ok(())
}

//! Proof that a pooled instance slot comes back fresh even when the kernel
//! swapped the guest's memory out while the instance was alive.
//!
//! The pooling allocator resets a slot in place, finding the pages the guest
//! dirtied with Linux's `PAGEMAP_SCAN`. wasmtime 48 asked it only for dirty
//! pages that were *present*, so a dirty page sitting in swap was neither reset
//! nor decommitted, and the next instance in the slot (the next call, perhaps
//! another principal's) read it back. moat carries the fix (vendor/README.md);
//! this test tries the attack with the engine configuration moat serves with.
//!
//! It needs swap. When none is on, it turns on a swap file of its own for its
//! duration, which takes root; without it, the test fails and says so.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::Command;

use rustix::mm::{Advice, madvise};
use wasmtime::{Engine, Instance, Module, Store};

use super::{EngineOptions, PoolSizing, engine_config};
use crate::limits::Limits;

/// A guest that writes a value where it is told, and reads one back.
const GUEST: &str = r#"(module
  (memory (export "memory") 2)
  (func (export "write") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "read") (param i32) (result i32) (i32.load (local.get 0))))"#;

/// In the second wasm page: no data segment puts anything there.
const ADDRESS: usize = 0x1_0040;
const SECRET: i32 = 0x5ec_2e7;
const PAGE: usize = 4096;

#[test]
fn a_guest_page_swapped_out_during_a_call_is_reset_before_the_next_instance() {
    let _swap = swap_for_this_test();
    let pool = PoolSizing { concurrent_calls: 1, spares: 0, limits: Limits::default() };
    let engine = Engine::new(&engine_config(Some(&pool), EngineOptions::default())).unwrap();
    let module = Module::new(&engine, GUEST).unwrap();

    {
        let (mut store, instance) = instantiate(&engine, &module);
        let write = instance.get_typed_func::<(i32, i32), ()>(&mut store, "write").unwrap();
        write.call(&mut store, (ADDRESS as i32, SECRET)).unwrap();

        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let page = memory.data_ptr(&store).wrapping_add(ADDRESS).map_addr(|at| at & !(PAGE - 1));
        assert_eq!(page_state(page), PageState::Present, "the guest's write is in memory");
        // SAFETY: `page` is one whole page of this instance's linear memory,
        // which is mapped for as long as `store` lives; MADV_PAGEOUT only asks
        // the kernel to write it to swap, its contents are kept.
        #[allow(unsafe_code)]
        let paged_out = unsafe { madvise(page.cast(), PAGE, Advice::LinuxPageOut) };
        paged_out.expect("madvise(MADV_PAGEOUT)");
        assert_eq!(
            page_state(page),
            PageState::Swapped,
            "the kernel did not swap the guest's page out, so the attack was not tried"
        );
    } // The instance is dropped and its slot reset, with the secret in swap.

    let (mut store, instance) = instantiate(&engine, &module);
    let read = instance.get_typed_func::<i32, i32>(&mut store, "read").unwrap();
    let seen = read.call(&mut store, ADDRESS as i32).unwrap();
    assert_eq!(seen, 0, "the next instance in the slot read the previous instance's {seen:#x}");
}

fn instantiate(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    store.set_fuel(u64::MAX).unwrap();
    store.set_epoch_deadline(u64::MAX);
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    (store, instance)
}

#[derive(Debug, PartialEq)]
enum PageState {
    Present,
    Swapped,
    Neither,
}

/// Where the page at `address` is, from this process's page map (bits 63 and
/// 62 of its entry, which need no privilege to read).
fn page_state(address: *const u8) -> PageState {
    let mut pagemap = File::open("/proc/self/pagemap").unwrap();
    pagemap.seek(SeekFrom::Start((address.addr() / PAGE * 8) as u64)).unwrap();
    let mut entry = [0; 8];
    pagemap.read_exact(&mut entry).unwrap();
    let entry = u64::from_le_bytes(entry);
    match (entry >> 63 & 1, entry >> 62 & 1) {
        (1, _) => PageState::Present,
        (_, 1) => PageState::Swapped,
        _ => PageState::Neither,
    }
}

/// A swap file turned on for the test, turned off and removed when dropped.
struct TemporarySwap(PathBuf);

impl Drop for TemporarySwap {
    fn drop(&mut self) {
        let _ = Command::new("swapoff").arg(&self.0).status();
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `None` when swap is already on; otherwise turns on a 64 MiB swap file.
fn swap_for_this_test() -> Option<TemporarySwap> {
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap();
    if swaps.lines().count() > 1 {
        return None;
    }
    // On the disk, not in /tmp: swap files on tmpfs are refused by most kernels.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("swapped-pages-test-{}.swap", std::process::id()));
    let mut file = File::create(&path).unwrap();
    // Written out, not sparse: swapon refuses files with holes.
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        file.write_all(&zeros).unwrap();
    }
    file.sync_all().unwrap();
    drop(file);
    let swap = TemporarySwap(path);
    std::fs::set_permissions(&swap.0, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    for (program, args) in [("mkswap", vec!["-q"]), ("swapon", vec![])] {
        let output = Command::new(program).args(args).arg(&swap.0).output();
        match output {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "this test pages guest memory out to swap, and no swap is on; \
                 turning on a swap file of its own failed ({program}: {}). \
                 Run it as root (as `make test` in CI does), or turn swap on first",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => panic!("this test needs swap and could not run {program}: {error}"),
        }
    }
    Some(swap)
}

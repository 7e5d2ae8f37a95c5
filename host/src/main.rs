//! The `moat` binary; everything lives in the library (`moat::cli`).

/// mimalloc: a call makes a few hundred short-lived allocations, and glibc's
/// malloc cost moat a fifth of its pipelined throughput (measured with
/// `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match moat::cli::main() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

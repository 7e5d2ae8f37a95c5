//! The `moat` binary; everything lives in the library (`moat::cli`).

fn main() -> std::process::ExitCode {
    match moat::cli::main() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! silly: a standalone Lua 5.5 runtime for network services. The binary (`main.rs`) only calls
//! `main`; the modules live in this library so that their unit tests run with
//! `cargo test --lib`.
//!
//! Layers, from the bottom: `log`, `runtime` (Lua state, executor, tasks, timers, the reactor;
//! it names no module above it), `native` (the private Lua modules), then `boot`, `repl` and
//! `cli`, which put them together.

mod boot;
mod cli;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod log;
mod native;
mod repl;
mod runtime;

use std::io::Write;
use std::process::ExitCode;

/// Parses the command line, runs the script, and turns the outcome into an exit status.
/// Errors are printed here and nowhere else.
pub fn main() -> ExitCode {
    let config = match cli::parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/usage itself; its exit code is 0 for --help and 2 for errors.
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    if config.show_version {
        println!("{}", boot::version_line());
        return ExitCode::SUCCESS;
    }
    native::core::ARGV.get_or_init(|| {
        std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    });
    match boot::run(config) {
        Ok(code) => {
            let _ = std::io::stdout().flush();
            ExitCode::from(code as u8)
        }
        Err(e) => {
            eprintln!("silly: {e}");
            ExitCode::from(1)
        }
    }
}

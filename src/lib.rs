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
mod headers;
mod log;
mod native;
mod repl;
mod runtime;
mod types;

use std::io::Write;
use std::path::Path;
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
    if config.types_dir.is_some() || config.headers_dir.is_some() {
        return write_tool_files(&config);
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

/// `--types DIR` and `--headers DIR` (docs/cli.md#editor-support, docs/cli.md#c-modules): the
/// files for tools are written, and nothing runs.
fn write_tool_files(config: &cli::Config) -> ExitCode {
    type Writer = fn(&Path) -> Result<usize, error::Error>;
    let jobs: [(Option<&std::path::PathBuf>, Writer); 2] = [
        (config.types_dir.as_ref(), types::write),
        (config.headers_dir.as_ref(), headers::write),
    ];
    for (dir, write) in jobs {
        let Some(dir) = dir else { continue };
        match write(dir) {
            Ok(n) => println!("silly: wrote {n} files into {}", dir.display()),
            Err(e) => {
                eprintln!("silly: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

//! `silly`: the command (see the library, src/lib.rs).

/// Every allocation of the process, Lua's included (mlua allocates through Rust's global
/// allocator): an HTTP request allocates a dozen small tables and strings and frees them at
/// the next collection, where mimalloc's thread-local free lists cost less than glibc's
/// malloc (docs/benchmarks.md has the figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    silly::main()
}

//! The integration tests of `silly`, as one test crate: each module drives the built binary
//! (`CARGO_BIN_EXE_silly`) from outside, bounding every wait, on 127.0.0.1 only.
//!
//! One crate links once instead of once per file, and `common` is compiled once, so every
//! helper in it is used by some module. Run one module with `cargo test --test it cli::`.

mod common;

mod c_modules;
mod cli;
mod dns;
mod env_logger;
mod fuzz_corpus;
mod graceful;
mod http2_peers;
mod http_peers;
mod lua_scripts;
mod memory_limit;
mod metrics;
mod readme;
mod regress_write_stall;
mod repl;
mod signals;
mod soak_short;
mod tcp_peers;
mod tls_peers;
mod types;
mod websocket_peers;

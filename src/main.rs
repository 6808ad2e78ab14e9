//! `silly`: the command (see the library, src/lib.rs).

fn main() -> std::process::ExitCode {
    silly::main()
}

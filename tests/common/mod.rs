//! Shared helpers of the integration tests: run the built `silly` binary with a time limit.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn silly() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_silly"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("SILLY_STDLIB_DIR");
    c
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a finished run printed and how it ended.
#[derive(Debug)]
pub struct Output {
    /// The exit code; None if killed by a signal or by the time limit.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Waits for `child` at most `limit`, killing it past that.
pub fn wait_limited(mut child: Child, limit: Duration) -> Output {
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        code: status.code(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        timed_out,
    }
}

/// Runs `silly` with `args` and `stdin`, at most `limit`.
pub fn run(args: &[&str], stdin: &str, limit: Duration) -> Output {
    let mut child = silly()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn silly");
    let mut sin = child.stdin.take().expect("stdin");
    let input = stdin.to_string();
    std::thread::spawn(move || {
        let _ = sin.write_all(input.as_bytes());
    });
    wait_limited(child, limit)
}

/// Runs a Lua test script from tests/lua and asserts it reported success.
pub fn run_lua_test(name: &str) {
    let script = format!("tests/lua/{name}");
    let out = run(&["-L", "tests/lua", &script], "", Duration::from_secs(60));
    assert!(
        !out.timed_out,
        "{name} timed out\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        out.code,
        Some(0),
        "{name} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("testaux: ") && l.contains(" passed, 0 failed")),
        "{name} did not report its checks\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
}

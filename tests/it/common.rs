//! Shared helpers of the integration tests: run the built `silly` binary with a time limit, or
//! keep one running and read its output line by line (`Running`, for the real-peer tests);
//! run the peers of those tests (`run_tool`, `python`, `PythonServer`), bounded the same way;
//! give a test a fresh directory (`temp_dir`). Every helper here is used by some module: the
//! crate is built once, so an unused one is a warning.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
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

/// A fresh, empty directory for one test, under Cargo's scratch directory for integration
/// tests: `name` says whose it is, and a counter keeps apart two calls of this process.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
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

/// Writes `stdin` to `child` (then closes it) and waits for it at most `limit`.
fn feed_and_wait(mut child: Child, stdin: &[u8], limit: Duration) -> Output {
    let mut sin = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    wait_limited(child, limit)
}

/// Runs `silly` with `args` and `stdin`, at most `limit`.
pub fn run(args: &[&str], stdin: &str, limit: Duration) -> Output {
    let child = silly()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn silly");
    feed_and_wait(child, stdin.as_bytes(), limit)
}

/// `program` with `args`, run from the project root with stdout and stderr piped.
fn tool(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs another program (a peer or a client such as curl) with `args` and `stdin`, from the
/// project root, at most `limit`. `.ci/run` installs the programs the tests use.
pub fn run_tool(program: &str, args: &[&str], stdin: &[u8], limit: Duration) -> Output {
    let child = tool(program, args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is needed by these tests: {e}"));
    feed_and_wait(child, stdin, limit)
}

/// curl with `-sS --max-time 10`, then `args`, and `stdin`; returns its stdout, panicking with
/// its output when it fails.
pub fn curl(args: &[&str], stdin: &[u8]) -> String {
    let mut all = vec!["-sS", "--max-time", "10"];
    all.extend_from_slice(args);
    let out = run_tool("curl", &all, stdin, Duration::from_secs(30));
    assert!(
        out.code == Some(0),
        "curl {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// Runs the Python 3 program `code` with `args` as its `sys.argv[1:]`, at most `limit`.
pub fn python(code: &str, args: &[&str], limit: Duration) -> Output {
    let mut all = vec!["-c", code];
    all.extend_from_slice(args);
    run_tool("python3", &all, b"", limit)
}

/// A Python 3 server: a program whose first line of output is "PORT <n>", the port it listens
/// on at 127.0.0.1. Killed when dropped, unless `finish` waited for it.
pub struct PythonServer {
    child: Option<Child>,
    pub port: String,
}

impl PythonServer {
    /// Starts the program `code` with `args` and waits at most `limit` for its "PORT <n>" line.
    pub fn start(code: &str, args: &[&str], limit: Duration) -> PythonServer {
        Self::start_with("python3", code, args, limit)
    }

    /// `start` with another interpreter (Debian's /usr/bin/python3, for the Debian modules).
    pub fn start_with(python: &str, code: &str, args: &[&str], limit: Duration) -> PythonServer {
        let mut all = vec!["-c", code];
        all.extend_from_slice(args);
        let mut child = tool(python, &all)
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 is needed by these tests");
        // The first line is read byte by byte, so nothing after it is buffered here: the rest
        // stays in the pipe for `finish`.
        let mut stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while let Ok(1) = stdout.read(&mut byte) {
                if byte[0] == b'\n' {
                    break;
                }
                line.push(byte[0]);
            }
            let _ = tx.send((String::from_utf8_lossy(&line).into_owned(), stdout));
        });
        let (line, stdout) = match rx.recv_timeout(limit) {
            Ok((line, stdout)) => (Some(line), Some(stdout)),
            Err(_) => (None, None),
        };
        let port = line.as_deref().and_then(|l| l.strip_prefix("PORT "));
        let (Some(port), Some(stdout)) = (port.map(str::to_string), stdout) else {
            let _ = child.kill();
            let out = wait_limited(child, limit);
            panic!(
                "python server did not start: first line {line:?} (waited {limit:?})\nstderr:\n{}",
                out.stderr
            );
        };
        child.stdout = Some(stdout);
        PythonServer {
            child: Some(child),
            port,
        }
    }

    /// Waits at most `limit` for the end; the output's stdout is what followed the PORT line.
    pub fn finish(mut self, limit: Duration) -> Output {
        wait_limited(self.child.take().expect("not finished yet"), limit)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a Lua test script from tests/lua and asserts it reported success.
pub fn run_lua_test(name: &str) {
    let script = format!("tests/lua/{name}");
    let out = run(&["-L", "tests/lua", &script], "", Duration::from_secs(60));
    assert_testaux_ok(name, &out);
}

/// Asserts that a run of a testaux script ended in time, with status 0, reporting
/// "N passed, 0 failed", and that no Rust code panicked on the way (mlua turns a panic in a
/// native function into a Lua error, which a script's pcall would otherwise hide).
pub fn assert_testaux_ok(name: &str, out: &Output) {
    assert!(
        !out.stderr.contains("panicked"),
        "{name}: Rust panicked\nstderr:\n{}",
        out.stderr
    );
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

/// A running `silly` whose stdout lines arrive on a channel and whose stderr is collected.
pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub stderr: Arc<Mutex<String>>,
    /// Every stdout line read so far, for failure messages.
    pub seen: Vec<String>,
    /// How long `line_starting` waits for its line.
    pub limit: Duration,
}

impl Running {
    /// Starts `cmd` (stdin closed); `limit` bounds every `line_starting`.
    pub fn spawn(mut cmd: Command, limit: Duration) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn silly");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Running {
            child,
            lines: rx,
            stderr,
            seen: Vec::new(),
            limit,
        }
    }

    /// Starts a server (`cmd`, which lets the OS choose its port) and waits for its
    /// "LISTEN addr" line; returns it and the address.
    pub fn listening(cmd: Command, limit: Duration) -> (Running, String) {
        let mut r = Running::spawn(cmd, limit);
        let line = r.line_starting("LISTEN");
        let addr = line
            .strip_prefix("LISTEN ")
            .unwrap_or_else(|| r.fail(&format!("bad line {line:?}")))
            .to_string();
        (r, addr)
    }

    /// The next stdout line starting with `prefix`, skipping others.
    pub fn line_starting(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + self.limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(e) => self.fail(&format!("no line starting with {prefix:?} ({e})")),
            }
        }
    }

    /// Fails unless silly is still running and has not panicked.
    pub fn assert_running(&mut self) {
        if let Some(st) = self.child.try_wait().expect("try_wait") {
            self.fail(&format!("silly exited: {st}"));
        }
        let err = self.stderr();
        if err.contains("panicked") {
            self.fail("silly panicked");
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Kills silly and panics with `why`, the stdout lines seen and stderr.
    pub fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(50));
        panic!(
            "{why}\nstdout so far: {:?}\nstderr: {}",
            self.seen,
            self.stderr()
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Splits "RESULT mode k=v k=v" into its fields.
pub fn fields(line: &str) -> std::collections::HashMap<String, String> {
    line.split_whitespace()
        .skip(2)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Panics unless a Python peer exited 0 and printed "OK".
pub fn assert_python_ok(out: &Output, what: &str) {
    assert!(
        !out.timed_out && out.code == Some(0) && out.stdout.contains("OK"),
        "{what}: python peer failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
}

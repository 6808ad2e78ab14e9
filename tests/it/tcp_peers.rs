//! TCP against real peers: the built `silly` binary talks to Python 3 sockets (as client and as
//! server), to plain Rust sockets and to `redis-benchmark`, all on 127.0.0.1 with OS-chosen
//! ports (docs/tcp.md, docs/cli.md, docs/connections.md#close).
//!
//! The silly side runs `tests/lua_servers/peer.lua` (a server whose connections pick a mode on
//! their first line and print "RESULT ..." lines), `client.lua` (a client driven by --mode) or
//! `ping.lua`. Every wait is bounded; a child still running at the end of a test is killed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::common::{
    self, PythonServer, Running, assert_python_ok, fields, python, run, run_tool, silly,
};

const LIMIT: Duration = Duration::from_secs(30);

impl Running {
    /// Starts a server script with `--addr=127.0.0.1:0` and waits for its "LISTEN addr" line.
    fn server(script: &str) -> (Running, String) {
        let mut cmd = silly();
        cmd.args([script, "--addr=127.0.0.1:0"]);
        Running::listening(cmd, LIMIT)
    }

    /// Waits until stderr contains `text` (bounded).
    fn wait_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + LIMIT;
        while !self.stderr().contains(text) {
            if Instant::now() > deadline {
                self.fail(&format!("stderr never contained {text:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Python helpers shared by the peer programs below.
const PY_PRELUDE: &str = r#"
import os, random, socket, struct, sys, time
def connect(addr, timeout=20):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)
def recvn(s, n):
    out = bytearray()
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += b
    return bytes(out)
def reset(s):
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
def echo_line(addr, text):
    s = connect(addr, 10)
    s.sendall(b"lines\n" + text + b"\n")
    got = recvn(s, len(text) + 1)
    assert got == text + b"\n", got
    s.close()
"#;

/// Binary frames with NUL bytes, every byte value and 1 MiB of random data echo back intact,
/// one by one and pipelined.
#[test]
fn binary_echo_python_client() {
    let (mut srv, addr) = Running::server("tests/lua_servers/peer.lua");
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
s = connect(sys.argv[1])
s.sendall(b"echo\n")
payloads = [bytes(range(256)), b"\0", b"\0" * 1000, b"a\0b\r\n\0\n", os.urandom(1 << 20),
            bytes(random.randrange(256) for _ in range(777))]
for p in payloads:
    s.sendall(struct.pack(">I", len(p)) + p)
    assert recvn(s, 4) == struct.pack(">I", len(p))
    assert recvn(s, len(p)) == p, "payload of %d bytes differs" % len(p)
# pipelined: everything sent before anything is read back
blob = b"".join(struct.pack(">I", len(p)) + p for p in payloads)
s.sendall(blob)
assert recvn(s, len(blob)) == blob
s.sendall(struct.pack(">I", 0))
assert s.recv(1) == b"", "the server closes after a zero-length frame"
print("OK")
"#
    );
    let out = python(&code, &[&addr], LIMIT);
    assert_python_ok(&out, "binary echo");
    srv.assert_running();
}

/// The peer sends 5 bytes and resets (SO_LINGER 0): silly reads the 5 bytes, then CONNRESET;
/// write then returns false, CLOSED (docs/connections.md#outcomes).
#[test]
fn peer_reset_after_data() {
    let (mut srv, addr) = Running::server("tests/lua_servers/peer.lua");
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
s = connect(sys.argv[1])
s.sendall(b"rst\nhello")
time.sleep(0.05)
reset(s)
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr], LIMIT), "reset");
    let line = srv.line_starting("RESULT rst");
    let f = fields(&line);
    let want = [
        ("unread", "5"),
        ("data", "hello"),
        ("next", "nil"),
        ("err", "CONNRESET"),
        ("write", "false"),
        ("werr", "CLOSED"),
        ("alive", "false"),
        ("close", "true"),
    ];
    for (k, v) in want {
        assert_eq!(f.get(k).map(String::as_str), Some(v), "{k} in {line}");
    }
    srv.assert_running();
}

/// Half-close: the peer sends two lines and shuts down its write side; silly sees EOF, can still
/// write, and the peer receives the answer (docs/connections.md#write).
#[test]
fn peer_half_close() {
    let (mut srv, addr) = Running::server("tests/lua_servers/peer.lua");
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
s = connect(sys.argv[1])
s.sendall(b"halfclose\nl1\nl2\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(100)
    if not b:
        break
    got += b
assert got == b"lines=2\n", got
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr], LIMIT), "half-close");
    let f = fields(&srv.line_starting("RESULT halfclose "));
    assert_eq!(f["lines"], "2");
    assert_eq!(f["err"], "EOF");
    assert_eq!(f["alive"], "false");
    let f = fields(&srv.line_starting("RESULT halfclose-write"));
    assert_eq!(f["ok"], "true", "write after the peer's FIN succeeds");
    srv.assert_running();
}

/// A peer that stops reading in the middle of a 64 MiB response and then vanishes: the rest of
/// the process keeps serving other clients meanwhile and afterwards, and nothing crashes.
#[test]
fn peer_vanishes_mid_write() {
    let (mut srv, addr) = Running::server("tests/lua_servers/peer.lua");
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
addr = sys.argv[1]
big = connect(addr)
big.sendall(b"big\n")
recvn(big, 256 * 1024)          # read a little, then stop reading
time.sleep(0.2)
t = time.time()
echo_line(addr, b"while stalled")   # the loop is not blocked by the stalled writer
assert time.time() - t < 2, "echo took %.2f s" % (time.time() - t)
reset(big)                      # vanish without reading the rest
time.sleep(0.2)
echo_line(addr, b"after reset")
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr], LIMIT), "vanishing peer");
    let line = srv.line_starting("RESULT big");
    let f = fields(&line);
    assert_eq!(f["ok"], "false", "{line}");
    assert!(
        matches!(f["err"].as_str(), "CONNRESET" | "PIPE" | "CLOSED"),
        "{line}"
    );
    assert!(f["sent"].parse::<u64>().unwrap() < 64 << 20, "{line}");
    assert_eq!(f["alive"], "false", "{line}");
    srv.assert_running();
    let err = srv.stderr();
    assert!(!err.contains("panicked"), "stderr: {err}");
}

/// Random bytes, truncated frames, huge lengths, early closes and resets on many connections:
/// the server never crashes and still serves a well-behaved client afterwards.
#[test]
fn garbage_never_crashes() {
    let (mut srv, addr) = Running::server("tests/lua_servers/peer.lua");
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
addr = sys.argv[1]
rnd = random.Random(1234)
for i in range(150):
    s = connect(addr, 5)
    head = rnd.choice([b"", b"echo\n", b"lines\n", b"halfclose\n", b"\n", b"\0\0\0\n", b"echo"])
    body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 2048)))
    if rnd.random() < 0.1:
        body += os.urandom(256 * 1024)   # a long run, usually without a newline
    try:
        s.sendall(head + body)
        if head == b"echo\n" and rnd.random() < 0.3:
            s.sendall(struct.pack(">I", 0xFFFFFFF0) + b"x" * 100)   # a huge frame that never comes
        how = rnd.choice(["close", "reset", "shutdown"])
        if how == "reset":
            reset(s)
        elif how == "shutdown":
            s.shutdown(socket.SHUT_WR)
            s.settimeout(0.2)
            try:
                while s.recv(65536):
                    pass
            except (socket.timeout, OSError):
                pass
            s.close()
        else:
            s.close()
    except OSError:
        s.close()   # the server may close first; that is fine
for i in range(3):
    echo_line(addr, b"still serving %d" % i)
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr], LIMIT), "garbage");
    srv.assert_running();
    let err = srv.stderr();
    assert!(!err.contains("panicked"), "stderr: {err}");
}

/// Python as the server: silly connects, echoes binary frames back (NUL bytes included), then
/// a second connection sees the server's data followed by its reset (client side of docs/connections.md#outcomes).
#[test]
fn python_server_silly_client() {
    let server_code = format!(
        "{PY_PRELUDE}{}",
        r#"
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
ls.settimeout(20)
print("PORT %d" % ls.getsockname()[1], flush=True)
c, _ = ls.accept()
c.settimeout(20)
payloads = [b"\0", bytes(range(256)) * 4, b"\r\n\0\n", os.urandom(300000)]
for p in payloads:
    c.sendall(struct.pack(">I", len(p)) + p)
    assert recvn(c, 4 + len(p)) == struct.pack(">I", len(p)) + p
c.sendall(struct.pack(">I", 0))
assert c.recv(1) == b""
c.close()
c, _ = ls.accept()
c.sendall(b"hello")
time.sleep(0.05)
reset(c)
print("OK", flush=True)
"#
    );
    let py = PythonServer::start(&server_code, &[], LIMIT);
    let target = format!("--target=127.0.0.1:{}", py.port);
    let out = run(&["tests/lua_servers/client.lua", &target], "", LIMIT);
    let py = py.finish(LIMIT);
    assert!(
        py.code == Some(0) && py.stdout.contains("OK"),
        "python server failed: {}\n{}\nsilly stdout:\n{}\nsilly stderr:\n{}",
        py.stdout,
        py.stderr,
        out.stdout,
        out.stderr
    );
    assert_eq!(
        out.code,
        Some(0),
        "silly client failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("echo frames=4 end=EOF"),
        "stdout:\n{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("reset data=hello err=CONNRESET write=false werr=CLOSED alive=false"),
        "stdout:\n{}",
        out.stdout
    );
}

/// Connect timeout: a listener with backlog 1 that never accepts fills up, after which the
/// kernel drops SYNs and `connect(addr, {timeout = 300})` returns nil, TIMEDOUT (docs/tcp.md#connect).
#[test]
fn connect_timeout_on_full_backlog() {
    let ls = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    ls.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    ls.listen(1).unwrap();
    let addr = ls.local_addr().unwrap().as_socket().unwrap();
    let target = format!("--target={addr}");
    let out = run(
        &["tests/lua_servers/client.lua", "--mode=timeout", &target],
        "",
        LIMIT,
    );
    drop(ls);
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("timeout "))
        .unwrap_or_else(|| {
            panic!(
                "no timeout line\nstdout:\n{}\nstderr:\n{}",
                out.stdout, out.stderr
            )
        });
    let f: std::collections::HashMap<_, _> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    assert_eq!(f["err"], "TIMEDOUT", "{line}");
    let ms: u64 = f["ms"].parse().unwrap();
    assert!(
        (280..3000).contains(&ms),
        "the timeout took {ms} ms: {line}"
    );
    let connected: u32 = f["connected"].parse().unwrap();
    assert!((1..=8).contains(&connected), "{line}");
}

/// EMFILE: with `ulimit -n 64`, more clients than descriptors. The listener logs a pause, keeps
/// the served connections working, and accepts again once descriptors are free.
#[test]
fn emfile_pauses_accept_then_recovers() {
    let mut cmd = Command::new("sh");
    cmd.current_dir(common::root())
        .env_remove("SILLY_STDLIB_DIR")
        .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_silly"))
        .args(["tests/lua_servers/peer.lua", "--addr=127.0.0.1:0"]);
    let (mut srv, addr) = Running::listening(cmd, LIMIT);
    let mut clients = Vec::new();
    for _ in 0..120 {
        let mut c = TcpStream::connect(&addr).expect("connect (the backlog takes it)");
        c.write_all(b"lines\nhi\n").unwrap();
        clients.push(c);
    }
    srv.wait_stderr("accept paused");
    // Some connections were accepted and are served; the others wait in the backlog. Give the
    // served ones time to answer, then look at every client briefly.
    std::thread::sleep(Duration::from_millis(500));
    let mut served = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        c.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0u8; 3];
        if c.read_exact(&mut buf).is_ok() && &buf == b"hi\n" {
            served.push(i);
        }
    }
    let n = served.len();
    assert!(
        (1..64).contains(&n),
        "{n} connections served under ulimit -n 64"
    );
    // A served connection keeps working while accept is paused.
    let c = &mut clients[served[0]];
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"still\n").unwrap();
    let mut buf = [0u8; 6];
    c.read_exact(&mut buf)
        .expect("a served connection answers while accept is paused");
    assert_eq!(&buf, b"still\n");
    srv.assert_running();
    drop(clients);
    // Once the clients are gone the server frees descriptors and accepts again.
    let deadline = Instant::now() + LIMIT;
    loop {
        let ok = (|| -> std::io::Result<bool> {
            let mut c = TcpStream::connect(&addr)?;
            c.set_read_timeout(Some(Duration::from_secs(2)))?;
            c.write_all(b"lines\nagain\n")?;
            let mut buf = [0u8; 6];
            c.read_exact(&mut buf)?;
            Ok(&buf == b"again\n")
        })();
        if let Ok(true) = ok {
            break;
        }
        if Instant::now() > deadline {
            srv.fail("the listener never accepted again after the clients left");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    srv.assert_running();
    let err = srv.stderr();
    assert!(err.contains("Too many open files"), "stderr: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
}

/// redis-benchmark (redis-tools) against a 40-line PING server in Lua: a short run completes and
/// reports a throughput. redis-benchmark comes with Debian's redis-tools (.ci/run installs it).
#[test]
fn redis_benchmark_ping() {
    let probe = Command::new("redis-benchmark").arg("--version").output();
    assert!(
        probe.is_ok(),
        "redis-benchmark is needed by this test: install Debian's redis-tools (.ci/run does)"
    );
    let (mut srv, addr) = Running::server("tests/lua_servers/ping.lua");
    let port = addr.rsplit(':').next().unwrap();
    let out = run_tool(
        "redis-benchmark",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-t",
            "ping",
            "-n",
            "2000",
            "-c",
            "20",
            "--csv",
        ],
        b"",
        LIMIT,
    );
    assert!(
        !out.timed_out && out.code == Some(0),
        "redis-benchmark failed\n{}\n{}",
        out.stdout,
        out.stderr
    );
    // "PING_INLINE","33898.30",...
    let mut tests = 0;
    for line in out.stdout.lines().filter(|l| l.starts_with("\"PING")) {
        let rps: f64 = line
            .split(',')
            .nth(1)
            .unwrap()
            .trim_matches('"')
            .parse()
            .unwrap();
        assert!(rps > 0.0, "{line}");
        tests += 1;
    }
    assert_eq!(tests, 2, "PING_INLINE and PING_MBULK in:\n{}", out.stdout);
    srv.assert_running();
}

/// docs/cli.md#process-lifetime: a script that only listens and then closes the listener exits 0 by itself, and so does
/// one that also connected, talked and closed everything. One that keeps a listener open does
/// not exit.
#[test]
fn lifetime_follows_open_sockets() {
    let listen_close = r#"
local tcp = require "silly.net.tcp"
local l = assert(tcp.listen({ addr = "127.0.0.1:0", accept = function() end }))
assert(l:close())
"#;
    let out = run(&["-"], listen_close, Duration::from_secs(10));
    assert_eq!(
        (out.timed_out, out.code),
        (false, Some(0)),
        "listen then close\n{}",
        out.stderr
    );

    let talk = r#"
local tcp = require "silly.net.tcp"
local l = assert(tcp.listen({ addr = "127.0.0.1:0", accept = function(c)
	c:write(c:read("\n"))
	c:close()
end }))
local c = assert(tcp.connect(l:localaddr()))
c:write("ping\n")
assert(c:read("\n") == "ping\n")
c:write(string.rep("x", 1 << 20)) -- queued output is flushed in the background after close
c:close()
l:close()
print("done")
"#;
    let out = run(&["-"], talk, Duration::from_secs(15));
    assert_eq!(
        (out.timed_out, out.code),
        (false, Some(0)),
        "connect, talk, close\n{}",
        out.stderr
    );
    assert_eq!(out.stdout, "done\n");

    let keep = r#"
local tcp = require "silly.net.tcp"
assert(tcp.listen({ addr = "127.0.0.1:0", accept = function() end }))
print("listening")
"#;
    let out = run(&["-"], keep, Duration::from_millis(1500));
    assert!(
        out.timed_out,
        "an open listener keeps the process alive: {out:?}"
    );
    assert_eq!(out.stdout, "listening\n");
}

/// docs/cli.md#uncaught-errors: an accept handler that raises is logged once at ERROR with its traceback; the connection
/// is closed and the listener goes on (tests/lua/tcp_errors.lua checks the Lua side).
#[test]
fn accept_handler_error_is_logged() {
    let script = r#"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"
local n = 0
local l = assert(tcp.listen({ addr = "127.0.0.1:0", accept = function(c)
	n = n + 1
	if n == 1 then
		error("handler boom")
	end
	c:write("fine\n")
	c:close()
end }))
local c1 = assert(tcp.connect(l:localaddr()))
local d, err = c1:read(1, 5000)
print("first", d, err == errno.EOF)
c1:close()
local c2 = assert(tcp.connect(l:localaddr()))
print("second", c2:read("\n", 5000))
c2:close()
l:close()
"#;
    let out = run(&["-"], script, Duration::from_secs(15));
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("first\tnil\ttrue"),
        "stdout:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("second\tfine\n"),
        "stdout:\n{}",
        out.stdout
    );
    assert_eq!(
        out.stderr.matches("handler boom").count(),
        1,
        "logged once:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("traceback"),
        "with a traceback:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(" E "),
        "at ERROR level:\n{}",
        out.stderr
    );
}

/// The examples run as their headers say: the echo server (on a port the OS picks) answers the
/// line client, which exits 0 by itself; the server keeps running.
#[test]
fn examples_echo_server_and_line_client() {
    let mut cmd = silly();
    cmd.args(["examples/echo_server.lua", "--port=0"]);
    let mut srv = Running::spawn(cmd, LIMIT);
    let line = srv.line_starting("echo server listening on ");
    let port = line.rsplit(':').next().unwrap().to_string();
    let out = run(
        &["examples/line_client.lua", &format!("--port={port}")],
        "",
        LIMIT,
    );
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    for want in [
        "echo: hello (",
        "echo: silly (",
        "server says: bye",
        "then: End of file (10004)",
    ] {
        assert!(out.stdout.contains(want), "{want:?} in:\n{}", out.stdout);
    }
    srv.line_starting("disconnected: ");
    srv.assert_running();
}

/// Regression: a script that wrote 64 MiB, closed the connection and ended used to exit at once
/// (docs/cli.md#process-lifetime), dropping the output still queued (only ~4 MiB arrived). The closing stream now keeps
/// the process alive until its background flush is done (docs/connections.md#close, bounded by the flush deadline).
#[test]
fn close_then_exit_still_delivers_queued_output() {
    let server_code = r#"
import socket, time
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
ls.settimeout(20)
print("PORT %d" % ls.getsockname()[1], flush=True)
c, _ = ls.accept()
c.settimeout(20)
time.sleep(0.3)   # let the client queue its output and end its script first
n = 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    n += len(b)
print("got %d" % n, flush=True)
"#;
    let py = PythonServer::start(server_code, &[], LIMIT);
    let port = &py.port;
    let script = format!(
        r#"
local tcp = require "silly.net.tcp"
local c = assert(tcp.connect("127.0.0.1:{port}"))
c:write(string.rep("z", 64 * 1024 * 1024))
print("queued", c:unsentbytes() > 0)
c:close()
"#
    );
    let out = run(&["-"], &script, LIMIT);
    let rest = py.finish(LIMIT).stdout;
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stdout, "queued\ttrue\n");
    assert_eq!(
        rest.trim(),
        format!("got {}", 64 << 20),
        "what the peer received"
    );
}

/// Writes made in one task run are staged and sent when the task yields (stream.rs
/// `flush_staged`); `silly.exit` in the same run must still send them before the process ends.
#[test]
fn staged_writes_survive_exit() {
    let server_code = r#"
import socket
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
ls.settimeout(20)
print("PORT %d" % ls.getsockname()[1], flush=True)
c, _ = ls.accept()
c.settimeout(20)
got = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    got += b
print("got %r" % got, flush=True)
"#;
    let py = PythonServer::start(server_code, &[], LIMIT);
    let port = &py.port;
    let script = format!(
        r#"
local silly = require "silly"
local tcp = require "silly.net.tcp"
local c = assert(tcp.connect("127.0.0.1:{port}"))
c:write("one\n")
c:write({{"two", "\n"}})
print("staged", c:unsentbytes())
silly.exit(3)
"#
    );
    let out = run(&["-"], &script, LIMIT);
    let rest = py.finish(LIMIT).stdout;
    assert_eq!(
        out.code,
        Some(3),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stdout, "staged\t8\n");
    assert_eq!(rest.trim(), "got b'one\\ntwo\\n'", "what the peer received");
}

/// `reuseport = true`: two processes listen on one port and the kernel spreads the
/// connections between them (both accept some of 200), over TCP and TLS. Without it the
/// second bind fails with ADDRINUSE.
#[test]
fn reuseport_spreads_connections_over_two_processes() {
    for tls in [false, true] {
        let start = |addr: &str, name: &str| {
            let mut cmd = silly();
            cmd.arg("tests/lua_servers/reuseport.lua")
                .arg(format!("--addr={addr}"))
                .arg(format!("--name={name}"));
            if tls {
                cmd.arg("--tls=1");
            }
            Running::listening(cmd, LIMIT)
        };
        let (mut a, addr) = start("127.0.0.1:0", "a");
        let (mut b, _) = start(&addr, "b");
        let code = r#"
import socket, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
tls = sys.argv[2] == "tls"
ctx = ssl.create_default_context(cafile="tests/fixtures/certs/ca.crt")
seen = {}
for _ in range(200):
    s = socket.create_connection((host, int(port)), timeout=10)
    if tls:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    name = s.recv(10).strip()
    seen[name] = seen.get(name, 0) + 1
    s.close()
assert set(seen) == {b"a", b"b"}, seen
print("OK", seen)
"#;
        let out = python(code, &[&addr, if tls { "tls" } else { "tcp" }], LIMIT);
        assert_python_ok(&out, "reuseport client");
        a.assert_running();
        b.assert_running();
    }
    // Without reuseport, the port is taken.
    let taken = crate::common::run(
        &[
            "-e",
            "local tcp = require 'silly.net.tcp'\n\
             local a = assert(tcp.listen{addr = '127.0.0.1:0', accept = function() end})\n\
             local b, err = tcp.listen{addr = a:localaddr(), accept = function() end}\n\
             print(b, err == require('silly.errno').ADDRINUSE)\n\
             a:close()",
        ],
        "",
        LIMIT,
    );
    assert_eq!(taken.stdout, "nil\ttrue\n", "{taken:?}");
}

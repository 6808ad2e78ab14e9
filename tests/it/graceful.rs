//! Graceful shutdown on SIGTERM (docs/http.md#graceful-shutdown), on `examples/graceful.lua` run
//! as a process: a request in flight when SIGTERM comes gets its whole response, an idle
//! keep-alive connection is closed, new connections are refused, and the process exits 0 once
//! drained; with a deadline shorter than the request, the request is cut and the exit is 1.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{Running, run, silly};

const LIMIT: Duration = Duration::from_secs(20);

/// The example on a port the OS picks, with `drain` ms for the requests in flight.
fn start(drain: u32) -> (Running, String) {
    let mut cmd = silly();
    cmd.args([
        "examples/graceful.lua",
        "--addr=127.0.0.1:0",
        &format!("--drain={drain}"),
    ]);
    let mut srv = Running::spawn(cmd, LIMIT);
    let line = srv.line_starting("listening on ");
    let addr = line.trim_start_matches("listening on ").to_string();
    (srv, addr)
}

fn connect(addr: &str) -> TcpStream {
    let c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(LIMIT)).expect("read timeout");
    c
}

fn get(c: &mut TcpStream, path: &str) {
    write!(c, "GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").expect("write request");
}

/// Everything the server sends until it closes the connection.
fn read_to_close(c: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn sigterm(srv: &Running) {
    // SAFETY: kill only sends a signal to our own child, identified by its pid.
    let rc = unsafe { libc::kill(srv.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Connects until the server refuses (it closes its listener in the signal handler's first
/// run); panics if it still accepts after `limit`.
fn assert_refused_soon(addr: &str, limit: Duration) {
    let end = Instant::now() + limit;
    loop {
        match TcpStream::connect(addr) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return,
            // A connect that raced with the listener's shutdown was queued, then reset by
            // the kernel when the socket stopped listening: refused all the same.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("connect failed otherwise: {e}"),
            Ok(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
            Ok(_) => panic!("connections still accepted {limit:?} after SIGTERM"),
        }
    }
}

/// The exit status of `srv`, waited for at most `LIMIT`.
fn exit_code(srv: &mut Running) -> Option<i32> {
    let end = Instant::now() + LIMIT;
    loop {
        if let Some(st) = srv.child.try_wait().expect("try_wait") {
            return st.code();
        }
        if Instant::now() > end {
            srv.fail("still running");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_drains_requests_in_flight_then_exits_0() {
    let (mut srv, addr) = start(5000);

    let mut idle = connect(&addr);
    get(&mut idle, "/");
    let mut first = [0u8; 512];
    let n = idle.read(&mut first).expect("keep-alive response");
    let first = String::from_utf8_lossy(&first[..n]).into_owned();
    assert!(
        first.starts_with("HTTP/1.1 200") && first.ends_with("hello, world\n"),
        "{first:?}"
    );

    let mut slow = connect(&addr);
    get(&mut slow, "/slow");
    srv.line_starting("slow request started");
    sigterm(&srv);
    let t0 = Instant::now();
    srv.line_starting("SIGTERM: draining");

    assert_refused_soon(&addr, Duration::from_millis(300));
    assert_eq!(
        read_to_close(&mut idle),
        "",
        "the idle connection is closed"
    );
    let answer = read_to_close(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer:?}");
    assert!(answer.ends_with("\r\n\r\nslow done\n"), "{answer:?}");

    srv.line_starting("drained");
    assert_eq!(exit_code(&mut srv), Some(0), "{}", srv.stderr());
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(3), "exit {took:?} after SIGTERM");
}

#[test]
fn sigterm_past_the_deadline_cuts_the_request_and_exits_1() {
    let (mut srv, addr) = start(100);
    let mut slow = connect(&addr);
    get(&mut slow, "/slow");
    srv.line_starting("slow request started");
    sigterm(&srv);
    srv.line_starting("deadline passed, connections cut");
    assert_eq!(read_to_close(&mut slow), "", "the request was cut");
    assert_eq!(exit_code(&mut srv), Some(1), "{}", srv.stderr());
}

/// A handler still running when the deadline cuts its connection has not "returned without a
/// response" by mistake: the log says the shutdown cut it, at info level.
#[test]
fn a_request_cut_by_the_deadline_is_logged_as_cut() {
    let script = r#"
local http = require "silly.net.http"
local tcp = require "silly.net.tcp"
local time = require "silly.time"
local task = require "silly.task"
local l = assert(http.listen { addr = "127.0.0.1:0", handler = function(s)
	time.sleep(300)
	s:respond(200, { ["content-length"] = 2 })
	s:closewrite("ok")
end })
task.fork(function()
	local c = assert(tcp.connect(l:localaddr()))
	c:write("GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
	print("client read", c:read(1))
end)
time.sleep(50)
print("shutdown", l:shutdown(50))
time.sleep(500)
"#;
    let out = run(&["-e", script], "", LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("shutdown\tfalse"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("shutdown deadline passed: GET /slow cut before its response"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("without a response"), "{}", out.stderr);
}

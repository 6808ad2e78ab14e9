//! Regression: a connection that wrote more than the socket buffers hold, then waited in
//! `readline`, stopped sending once the peer sent a partial line before reading. The read path
//! of the TLS server session sent its pending records with the reader's waker, which replaced
//! the stream driver's as the socket's only write interest; when the socket drained, only the
//! reader woke, found no new input and went back to sleep, and the rest of the output stayed
//! queued for good (3.9 of 32 MiB arrived). Fixed in the reactor: write interest now wakes
//! every task that asked for it since the last edge, so the driver always hears of the drain.
//!
//! The same shape runs over TLS and plain TCP, with silly as the server and as the client,
//! against a Python peer (`tests/lua_servers/write_stall.lua` is the silly side).

use std::time::Duration;

use crate::common::{self, PythonServer, Running, assert_python_ok, python, silly};

const LIMIT: Duration = Duration::from_secs(60);

/// The Python side: sends "GET\n" (as the client) or reads it (as the server), waits 1 s
/// without reading so the other side's socket fills, sends "partial" without a newline, then
/// reads all 32 MiB (each recv bounded by 5 s) and completes the line.
const PEER: &str = r#"
import socket, ssl, sys, time
role, proto = sys.argv[1], sys.argv[2]
SIZE = 32 << 20
def wrap(s, server):
    if proto != "tls":
        return s
    if server:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain("tests/fixtures/certs/server-rsa-chain.crt", "tests/fixtures/certs/server-rsa.key")
        return ctx.wrap_socket(s, server_side=True)
    ctx = ssl.create_default_context(cafile="tests/fixtures/certs/ca.crt")
    return ctx.wrap_socket(s, server_hostname="localhost")
if role == "connect":
    host, port = sys.argv[3].rsplit(":", 1)
    s = wrap(socket.create_connection((host, int(port)), timeout=10), False)
    s.sendall(b"GET\n")
else:
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    print("PORT", ls.getsockname()[1], flush=True)
    ls.settimeout(20)
    raw, _ = ls.accept()
    s = wrap(raw, True)
    got = b""
    while not got.endswith(b"\n"):
        b = s.recv(1)
        assert b, "closed before the first line"
        got += b
    assert got == b"GET\n", got
time.sleep(1)
s.sendall(b"partial")
s.settimeout(5)
n = 0
try:
    while n < SIZE:
        b = s.recv(1 << 20)
        if not b:
            break
        n += len(b)
except socket.timeout:
    pass
print("received", n, "of", SIZE, flush=True)
assert n == SIZE, "the output stalled after %d of %d bytes" % (n, SIZE)
s.sendall(b" done\n")
print("OK")
"#;

/// silly serves; Python connects.
fn silly_server(proto: &str) {
    let mut cmd = silly();
    cmd.arg("tests/lua_servers/write_stall.lua")
        .arg(format!("--proto={proto}"))
        .arg("--role=server");
    let (mut srv, addr) = Running::listening(cmd, LIMIT);
    let out = python(PEER, &["connect", proto, &addr], LIMIT);
    assert_python_ok(&out, &format!("{proto} client of a silly server"));
    let result = srv.line_starting("RESULT");
    assert_eq!(result, "RESULT line=partial_done_ err=nil", "{proto}");
}

/// Python serves; silly connects.
fn silly_client(proto: &str) {
    let py = PythonServer::start(PEER, &["listen", proto], LIMIT);
    let client = common::run(
        &[
            "tests/lua_servers/write_stall.lua",
            &format!("--proto={proto}"),
            "--role=client",
            &format!("--addr=127.0.0.1:{}", py.port),
        ],
        "",
        LIMIT,
    );
    let out = py.finish(LIMIT);
    assert_python_ok(&out, &format!("{proto} server of a silly client"));
    assert!(
        client.stdout.contains("RESULT line=partial_done_ err=nil"),
        "{proto} client: {client:?}"
    );
}

#[test]
fn tls_server_keeps_sending_after_a_partial_line() {
    silly_server("tls");
}

#[test]
fn tls_client_keeps_sending_after_a_partial_line() {
    silly_client("tls");
}

#[test]
fn tcp_server_keeps_sending_after_a_partial_line() {
    silly_server("tcp");
}

#[test]
fn tcp_client_keeps_sending_after_a_partial_line() {
    silly_client("tcp");
}

//! `silly.net.tls` against real peers (docs/tls.md): curl, `openssl s_client` and
//! Python's `ssl` module as clients, Python as a TLS server, the HTTPS examples, and a signal
//! driven certificate reload on a child process. Everything runs on 127.0.0.1 with OS-chosen
//! ports and the fixtures in tests/fixtures/certs (see its README).
//!
//! The silly side runs `tests/lua_servers/tls_peer.lua` (connections pick a mode on their first
//! line), `tls_client.lua`, or one of `examples/https_*.lua` / `examples/tls_reload.lua`.
//! Every wait is bounded; children still running at the end of a test are killed.

use std::time::Duration;

use crate::common::{
    self, Output, PythonServer, Running, assert_python_ok, fields, python, run_tool, silly,
};

const LIMIT: Duration = Duration::from_secs(60);
const CA: &str = "tests/fixtures/certs/ca.crt";

impl Running {
    /// Starts `tls_peer.lua` with extra `--key=value` options; returns it and its address.
    fn peer(opts: &[&str]) -> (Running, String) {
        let mut cmd = silly();
        cmd.arg("tests/lua_servers/tls_peer.lua")
            .arg("--addr=127.0.0.1:0")
            .args(opts);
        Running::listening(cmd, LIMIT)
    }

    /// Starts an example with `--addr=127.0.0.1:0` and returns it and the address from the line
    /// starting with `prefix`, whose last word is the address.
    fn example(script: &str, prefix: &str) -> (Running, String) {
        let mut cmd = silly();
        cmd.arg(script).arg("--addr=127.0.0.1:0");
        let mut r = Running::spawn(cmd, LIMIT);
        let line = r.line_starting(prefix);
        let addr = line.split_whitespace().last().unwrap_or("").to_string();
        (r, addr)
    }
}

/// `openssl s_client` against `addr` with `args`, sending `input` then waiting `linger` before
/// closing stdin (TLS 1.3 session tickets arrive after the handshake; s_client needs to read
/// for a moment to store one). Returns stdout + stderr.
fn s_client(addr: &str, args: &[&str], input: &str, linger_ms: u64) -> (Output, String) {
    let script = format!(
        "(printf '%s' \"$1\"; sleep {}) | openssl s_client -connect \"$2\" \"${{@:3}}\"",
        linger_ms as f64 / 1000.0
    );
    let mut all = vec!["-c", script.as_str(), "sh", input, addr];
    all.extend_from_slice(args);
    let out = run_tool("bash", &all, b"", LIMIT);
    let text = format!("{}\n{}", out.stdout, out.stderr);
    (out, text)
}

/// Python helpers shared by the peer programs below.
const PY_PRELUDE: &str = r#"
import os, socket, ssl, struct, sys, time, threading
CA = "tests/fixtures/certs/ca.crt"
def client_ctx(cert=None):
    ctx = ssl.create_default_context(cafile=CA)
    if cert:
        ctx.load_cert_chain("tests/fixtures/certs/%s-chain.crt" % cert, "tests/fixtures/certs/%s.key" % cert)
    return ctx
def tls_connect(addr, ctx=None, name="localhost", timeout=20):
    host, port = addr.rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=timeout)
    return (ctx or client_ctx()).wrap_socket(raw, server_hostname=name, suppress_ragged_eofs=False)
def recvn(s, n):
    out = bytearray()
    while len(out) < n:
        b = s.recv(min(n - len(out), 1 << 20))
        if not b:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += b
    return bytes(out)
def cn(s):
    for rdn in s.getpeercert()["subject"]:
        for k, v in rdn:
            if k == "commonName":
                return v
def raw_connect(addr, timeout=10):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)
def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
def echo_line(addr, text):
    s = tls_connect(addr)
    s.sendall(b"lines\n" + text + b"\n")
    assert recvn(s, len(text) + 1) == text + b"\n"
    s.close()
"#;

// ------------------------------------------------------------------------------------------
// The examples

/// curl verifies the HTTPS example's chain against the test CA and gets the body; with
/// `--http2` it offers h2 and http/1.1 over ALPN and the server (http/1.1 only) picks http/1.1.
#[test]
fn curl_against_the_https_example() {
    let (mut srv, addr) = Running::example("examples/https_server.lua", "HTTPS server listening");
    let port = addr.rsplit(':').next().unwrap().to_string();
    let url = format!("https://localhost:{port}/");
    let resolve = format!("localhost:{port}:127.0.0.1");
    for extra in [&[][..], &["--http2"][..]] {
        let mut args = vec![
            "-sS",
            "-v",
            "--max-time",
            "20",
            "--cacert",
            "examples/certs/ca.crt",
            "--resolve",
            &resolve,
            &url,
        ];
        args.extend_from_slice(extra);
        let out = run_tool("curl", &args, b"", LIMIT);
        assert_eq!(out.code, Some(0), "curl {extra:?}: {}", out.stderr);
        assert_eq!(out.stdout, "Hello from HTTPS server!\n", "{}", out.stderr);
        assert!(
            out.stderr.contains("ALPN: server accepted http/1.1"),
            "curl {extra:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("SSL certificate verify ok"),
            "{}",
            out.stderr
        );
    }
    srv.line_starting("Received request:\tGET / HTTP/1.1");
    srv.assert_running();
}

/// The client example (seed Example 2) against the server example (seed Example 1).
#[test]
fn https_client_example_against_the_server_example() {
    let (mut srv, addr) = Running::example("examples/https_server.lua", "HTTPS server listening");
    let out = common::run(
        &["examples/https_client.lua", &format!("--addr={addr}")],
        "",
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    for want in [
        "Connected to server",
        "ALPN protocol:\thttp/1.1",
        "Response:\tHTTP/1.1 200 OK",
        "Connection closed",
    ] {
        assert!(out.stdout.contains(want), "missing {want:?} in {out:?}");
    }
    srv.assert_running();
}

/// Seed Example 3 on a child process: after `kill -USR1` new handshakes see CN=localhost2,
/// while a connection opened before the reload (CN=localhost) still gets its answer.
#[test]
fn sigusr1_reloads_the_certificate() {
    let (mut srv, addr) = Running::example("examples/tls_reload.lua", "Server started");
    srv.line_starting("Run: kill -USR1");
    let pid = srv.child.id().to_string();
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
import signal
addr, pid = sys.argv[1], int(sys.argv[2])
def get(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"Hello!\n"), data
    s.close()
old = tls_connect(addr)
assert cn(old) == "localhost", cn(old)
s = tls_connect(addr); assert cn(s) == "localhost"; get(s)
os.kill(pid, signal.SIGUSR1)
deadline = time.time() + 10
while True:
    s = tls_connect(addr)
    name = cn(s)
    get(s)
    if name == "localhost2":
        break
    assert name == "localhost", name
    assert time.time() < deadline, "still CN=localhost 10 s after SIGUSR1"
    time.sleep(0.05)
get(old)   # opened before the reload: still served, still the old certificate
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr, &pid], LIMIT), "reload");
    srv.line_starting("Certificate reload successful");
    srv.assert_running();
}

// ------------------------------------------------------------------------------------------
// openssl s_client

/// SNI picks the matching entry of `certs` (exact and wildcard SAN); no SNI or an unknown
/// name gets `certs[1]`; the chain verifies against the root.
#[test]
fn s_client_sni_selects_the_certificate() {
    let (mut srv, addr) = Running::peer(&["--certs=multi"]);
    let cases: [(&[&str], &str); 4] = [
        (&["-servername", "example.test"], "CN = example.test"),
        (&["-servername", "www.example.test"], "CN = example.test"),
        (&["-servername", "unknown.test"], "CN = localhost"),
        (&["-noservername"], "CN = localhost"),
    ];
    for (args, subject) in cases {
        let mut all = vec!["-CAfile", CA, "-brief"];
        all.extend_from_slice(args);
        let (_, text) = s_client(&addr, &all, "bye\n", 0);
        let want = format!("Peer certificate: {subject}");
        assert!(text.contains(&want), "{args:?}: want {want:?}\n{text}");
        assert!(
            text.contains("Verification: OK"),
            "{args:?}: chain does not verify\n{text}"
        );
    }
    srv.assert_running();
}

/// ALPN: the server's preference wins; a client offering nothing in common gets a
/// no_application_protocol alert (docs/tls.md).
#[test]
fn s_client_alpn() {
    let (mut srv, addr) = Running::peer(&["--alpn=h2,http/1.1"]);
    let (_, text) = s_client(&addr, &["-CAfile", CA, "-alpn", "http/1.1,h2"], "bye\n", 0);
    assert!(text.contains("ALPN protocol: h2"), "{text}");
    let (_, text) = s_client(&addr, &["-CAfile", CA, "-alpn", "http/1.1"], "bye\n", 0);
    assert!(text.contains("ALPN protocol: http/1.1"), "{text}");
    let (_, text) = s_client(&addr, &["-CAfile", CA, "-alpn", "spdy/1"], "bye\n", 0);
    assert!(text.contains("no application protocol"), "{text}");
    let (_, text) = s_client(&addr, &["-CAfile", CA], "bye\n", 0);
    assert!(text.contains("No ALPN negotiated"), "{text}");
    srv.assert_running();
}

/// TLS 1.2 and 1.3 are accepted, TLS 1.1 and 1.0 refused (the client's security level is
/// lowered so that it really offers them).
#[test]
fn s_client_protocol_versions() {
    let (mut srv, addr) = Running::peer(&[]);
    for (flag, proto) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let (out, text) = s_client(&addr, &["-CAfile", CA, flag], "lines\nv\n", 300);
        assert_eq!(out.code, Some(0), "{flag}: {text}");
        assert!(
            text.contains(&format!("Protocol  : {proto}")),
            "{flag}: {text}"
        );
        assert!(
            text.contains("Verify return code: 0 (ok)"),
            "{flag}: {text}"
        );
    }
    for flag in ["-tls1_1", "-tls1"] {
        let (out, text) = s_client(
            &addr,
            &["-CAfile", CA, flag, "-cipher", "DEFAULT@SECLEVEL=0"],
            "bye\n",
            0,
        );
        assert_ne!(out.code, Some(0), "{flag} was accepted: {text}");
        // s_client prints the version it attempted in its session dump even on failure;
        // "Cipher is (NONE)" is what says nothing was negotiated.
        assert!(text.contains("Cipher is (NONE)"), "{flag}: {text}");
        assert!(
            text.contains("SSL alert number"),
            "{flag}: refused without an alert?\n{text}"
        );
    }
    srv.assert_running();
}

/// A saved session is resumed, on TLS 1.2 (session cache) and TLS 1.3 (tickets).
#[test]
fn s_client_session_resumption() {
    let (mut srv, addr) = Running::peer(&[]);
    let dir = common::temp_dir("tls-sess");
    for (flag, proto) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let sess = dir.join(format!("{flag}.pem"));
        let sess = sess.to_str().unwrap();
        let (_, text) = s_client(
            &addr,
            &["-CAfile", CA, flag, "-sess_out", sess],
            "lines\nhello\n",
            500,
        );
        assert!(text.contains(&format!("New, {proto}")), "{flag}: {text}");
        let (_, text) = s_client(
            &addr,
            &["-CAfile", CA, flag, "-sess_in", sess],
            "lines\nhello\n",
            300,
        );
        assert!(
            text.contains(&format!("Reused, {proto}")),
            "{flag}: not resumed\n{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    srv.assert_running();
}

// ------------------------------------------------------------------------------------------
// Python's ssl module

/// A server close sends close_notify: a Python client that refuses ragged EOFs sees a clean
/// end of stream; the ECDSA certificate verifies too.
#[test]
fn python_client_sees_close_notify() {
    for certs in ["--certs=rsa", "--certs=ec"] {
        let (mut srv, addr) = Running::peer(&[certs]);
        let code = format!(
            "{PY_PRELUDE}{}",
            r#"
s = tls_connect(sys.argv[1])
s.sendall(b"bye\n")
assert recvn(s, 4) == b"bye\n"
assert s.recv(10) == b"", "expected a clean EOF (close_notify)"
s.close()
print("OK", s.version())
"#
        );
        assert_python_ok(&python(&code, &[&addr], LIMIT), certs);
        srv.assert_running();
    }
}

/// A Python TLS server sends two lines and then close_notify (unwrap) without closing TCP:
/// silly reads the lines and then EOF at once, long before its 10 s read timeout.
#[test]
fn python_server_close_notify_is_eof() {
    let server = format!(
        "{PY_PRELUDE}{}",
        r#"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("tests/fixtures/certs/server-rsa-chain.crt", "tests/fixtures/certs/server-rsa.key")
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
ls.settimeout(30)
print("PORT %d" % ls.getsockname()[1], flush=True)
raw, _ = ls.accept()
raw.settimeout(30)
c = ctx.wrap_socket(raw, server_side=True)
line = c.recv(100)
assert line == b"hello from silly\n", line
c.sendall(b"one\ntwo\n")
raw2 = c.unwrap()        # close_notify, TCP stays open
time.sleep(3)
raw2.close()
print("OK")
"#
    );
    let (out, client) = python_server_and_silly_client(&server, "eof");
    assert_python_ok(&out, "python server");
    let f = fields(&client);
    assert_eq!(f["connect"], "true", "{client}");
    assert_eq!(f["lines"], "one,two", "{client}");
    assert_eq!(f["err"], "EOF", "{client}");
    assert!(
        f["ms"].parse::<u64>().unwrap() < 2500,
        "EOF only at TCP close: {client}"
    );
    assert_eq!(f["alive"], "false", "{client}");
}

/// Mutual TLS with silly as the client: a Python server that requires a client certificate
/// accepts the one silly presents.
#[test]
fn python_server_requires_a_client_certificate() {
    let server = format!(
        "{PY_PRELUDE}{}",
        r#"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("tests/fixtures/certs/server-rsa-chain.crt", "tests/fixtures/certs/server-rsa.key")
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(CA)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
ls.settimeout(30)
print("PORT %d" % ls.getsockname()[1], flush=True)
raw, _ = ls.accept()
raw.settimeout(30)
c = ctx.wrap_socket(raw, server_side=True)
name = cn(c)
assert name == "silly test client", name
assert c.recv(100) == b"hello from silly\n"
c.sendall(name.replace(" ", "_").encode() + b"\n")
c.unwrap().close()
print("OK")
"#
    );
    let (out, client) = python_server_and_silly_client(&server, "mtls");
    assert_python_ok(&out, "python mTLS server");
    let f = fields(&client);
    assert_eq!(f["lines"], "silly_test_client", "{client}");
    assert_eq!(f["err"], "EOF", "{client}");
}

/// Runs `server` (Python, prints "PORT n") and `tls_client.lua --mode=mode` against it;
/// returns the server's output and the client's RESULT line.
fn python_server_and_silly_client(server: &str, mode: &str) -> (Output, String) {
    let py = PythonServer::start(server, &[], LIMIT);
    let client = common::run(
        &[
            "tests/lua_servers/tls_client.lua",
            &format!("--addr=127.0.0.1:{}", py.port),
            &format!("--mode={mode}"),
        ],
        "",
        LIMIT,
    );
    let out = py.finish(LIMIT);
    let line = client
        .stdout
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .unwrap_or_else(|| panic!("no RESULT from the silly client: {client:?}\nserver: {out:?}"))
        .to_string();
    (out, line)
}

/// Mutual TLS with silly as the server: a Python client with the test client certificate is
/// accepted and identified; one without a certificate is refused.
#[test]
fn silly_server_requires_a_client_certificate() {
    let (mut srv, addr) = Running::peer(&["--mtls=1"]);
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
addr = sys.argv[1]
s = tls_connect(addr, client_ctx("client"))
s.sendall(b"whoami\n")
line = s.recv(200)
assert b"peer=" in line, line
print("identified:", line.decode().strip())
try:
    s = tls_connect(addr)
    s.sendall(b"whoami\n")
    data = s.recv(200)
    raise SystemExit("accepted a client without a certificate: %r" % data)
except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
    print("refused:", e)
print("OK")
"#
    );
    let out = python(&code, &[&addr], LIMIT);
    assert_python_ok(&out, "mTLS server");
    assert!(
        out.stdout.contains("silly_test_client") || out.stdout.contains("silly test client"),
        "{}",
        out.stdout
    );
    srv.assert_running();
}

// ------------------------------------------------------------------------------------------
// Load and bulk

/// 200 clients at once, 50 line round trips each, all correct.
#[test]
fn two_hundred_concurrent_clients() {
    let (mut srv, addr) = Running::peer(&[]);
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
import asyncio
host, port = sys.argv[1].rsplit(":", 1)
ctx = client_ctx()
async def one(i):
    r, w = await asyncio.open_connection(host, int(port), ssl=ctx, server_hostname="localhost")
    w.write(b"lines\n")
    for k in range(50):
        msg = b"client %d line %d\n" % (i, k)
        w.write(msg)
        got = await r.readline()
        assert got == msg, (got, msg)
    w.close()
    return 1
async def main():
    done = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200))), 50)
    assert sum(done) == 200
asyncio.run(main())
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr], LIMIT), "200 clients");
    srv.assert_running();
}

/// An 8 MiB random payload comes back byte for byte.
#[test]
fn eight_mib_echo() {
    let (mut srv, addr) = Running::peer(&[]);
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
import hashlib
s = tls_connect(sys.argv[1])
blob = os.urandom(8 << 20)
s.sendall(b"echo\n")
# Sent whole before reading: the server echoes only complete frames and its writes never
# block, so this cannot deadlock. (Sending from a second thread would not be safe: one
# OpenSSL connection must not be read and written from two threads at once.)
s.sendall(struct.pack(">I", len(blob)) + blob)
assert recvn(s, 4) == struct.pack(">I", len(blob))
got = recvn(s, len(blob))
assert hashlib.sha256(got).digest() == hashlib.sha256(blob).digest(), "payload differs"
s.sendall(struct.pack(">I", 0))
assert s.recv(1) == b""
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr], LIMIT), "8 MiB echo");
    srv.assert_running();
}

// ------------------------------------------------------------------------------------------
// Hostile and broken clients

/// Garbage bytes, plaintext HTTP, a reset in the middle of the handshake and a client that
/// never finishes its handshake: each is dropped without `accept`, and the next client is
/// served normally. The stalled one is closed by the handshake timeout (500 ms here).
#[test]
fn broken_clients_do_not_stop_the_server() {
    let (mut srv, addr) = Running::peer(&["--hto=500"]);
    let code = format!(
        "{PY_PRELUDE}{}",
        r#"
addr = sys.argv[1]
def closed_by_server(s, limit):
    s.settimeout(limit)
    t = time.time()
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise SystemExit("server did not close within %.1f s" % limit)
    return time.time() - t
# random bytes
s = raw_connect(addr); s.sendall(os.urandom(3000)); closed_by_server(s, 5); s.close()
echo_line(addr, b"after garbage")
# plaintext HTTP
s = raw_connect(addr); s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
closed_by_server(s, 5); s.close()
echo_line(addr, b"after plaintext")
# a real ClientHello, then a reset before the handshake ends
host, port = addr.rsplit(":", 1)
inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = client_ctx().wrap_bio(inb, outb, server_hostname="localhost")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outb.read()
assert hello[:1] == b"\x16", hello[:5]
s = raw_connect(addr); s.sendall(hello); s.recv(100); reset(s)
s = raw_connect(addr); s.sendall(hello[:len(hello) // 2]); time.sleep(0.05); reset(s)
echo_line(addr, b"after reset")
# stalled: connect, send nothing / half a ClientHello, and wait for the server to hang up
s1 = raw_connect(addr)
s2 = raw_connect(addr); s2.sendall(hello[:20])
echo_line(addr, b"while stalled")
for s in (s1, s2):
    took = closed_by_server(s, 10)
    # The handshake timeout is 500 ms; the margin is for a loaded machine, the bound is not.
    assert took < 5, "a stalled handshake was closed after %.1f s, not by its timeout" % took
    s.close()
echo_line(addr, b"after stall")
print("OK")
"#
    );
    assert_python_ok(&python(&code, &[&addr], LIMIT), "broken clients");
    srv.assert_running();
    assert!(
        !srv.seen.iter().any(|l| l.starts_with("RESULT unknown")),
        "accept ran for a failed handshake: {:?}",
        srv.seen
    );
}

/// Server handshakes run their cryptography on worker threads (tls_server.rs, runtime/workers.rs):
/// after a handshake the server process has named worker threads, at most one per core; they
/// end after a second without work (their malloc caches go with them), and the next handshake
/// starts one again.
#[test]
fn handshakes_run_on_worker_threads() {
    let (mut srv, addr) = Running::peer(&[]);
    let pid = srv.child.id();
    let workers = || -> usize {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.filter_map(|t| t.ok())
                    .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                    .filter(|name| name.starts_with("silly-worker"))
                    .count()
            })
            .unwrap_or(0)
    };
    let handshake = |round: usize| {
        let (out, text) = s_client(&addr, &["-CAfile", CA], "lines\nv\n", 300);
        assert_eq!(out.code, Some(0), "round {round}: {text}");
        assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    };
    assert_eq!(workers(), 0, "no worker thread before the first handshake");
    for round in 0..2 {
        handshake(round);
    }
    let n = workers();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        (1..=cores).contains(&n),
        "{n} worker threads after handshakes, {cores} cores"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while workers() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(workers(), 0, "worker threads left after 10 s without work");
    handshake(2);
    srv.assert_running();
}

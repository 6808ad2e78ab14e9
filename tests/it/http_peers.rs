//! `silly.net.http` (HTTP/1.1 server) against real clients on 127.0.0.1: curl for the common
//! requests (GET, HEAD, POST, chunked uploads, `expect: 100-continue`, keep-alive reuse,
//! HTTPS with the test CA), Python sockets for what a well-behaved client never sends
//! (pipelining, malformed heads, smuggling attempts, oversized heads and bodies, slow heads).
//!
//! The server is `tests/lua_servers/http_peer.lua` (its header lists the routes).

use std::time::Duration;

use crate::common::{self, Running, assert_python_ok, python, run_tool, silly};

const LIMIT: Duration = Duration::from_secs(30);
const CA: &str = "tests/fixtures/certs/ca.crt";

fn server(opts: &[&str]) -> (Running, String) {
    let mut cmd = silly();
    cmd.arg("tests/lua_servers/http_peer.lua").args(opts);
    Running::listening(cmd, LIMIT)
}

/// curl with `args` (common.rs); returns its stdout, panicking when it fails.
fn curl(args: &[&str]) -> String {
    common::curl(args, b"")
}

#[test]
fn curl_get_head_post() {
    let (mut srv, addr) = server(&[]);
    assert_eq!(curl(&[&format!("http://{addr}/hello")]), "hello\n");
    let head = curl(&["-I", &format!("http://{addr}/hello")]);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("content-length: 6\r\n"), "{head}");
    assert!(head.contains("\r\ndate: "), "{head}");
    let info = curl(&[
        "-d",
        "payload",
        "-H",
        "X-Multi: a",
        "-H",
        "X-Multi: b",
        &format!("http://{addr}/info?x=1&x=2&flag&sp=a+b%21"),
    ]);
    for want in [
        "method=POST",
        "path=/info",
        "version=HTTP/1.1",
        "body=payload",
        "query.x=1|2",
        "query.flag=",
        "query.sp=a b!",
        "header.x-multi=a|b",
    ] {
        assert!(
            info.lines().any(|l| l == want),
            "{want:?} missing in\n{info}"
        );
    }
    let missing = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://{addr}/nope"),
    ]);
    assert_eq!(missing, "404");
    srv.assert_running();
}

#[test]
fn curl_chunked_upload_and_chunked_response_with_trailer() {
    let (mut srv, addr) = server(&[]);
    let body: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let echoed = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &body,
        &format!("http://{addr}/echo"),
    ]);
    assert_eq!(echoed, body);
    let raw = curl(&["--raw", "-i", &format!("http://{addr}/chunked")]);
    assert!(raw.contains("transfer-encoding: chunked\r\n"), "{raw}");
    assert!(raw.contains("\r\n0\r\nx-checksum: abc\r\n\r\n"), "{raw}");
    assert_eq!(
        curl(&[&format!("http://{addr}/chunked")]),
        "one\ntwo\nthree\n"
    );
    srv.assert_running();
}

#[test]
fn curl_expect_100_continue_and_keep_alive_reuse() {
    let (mut srv, addr) = server(&[]);
    let out = run_tool(
        "curl",
        &[
            "-sS",
            "-v",
            "--max-time",
            "10",
            "-H",
            "Expect: 100-continue",
            "-d",
            "body after continue",
            &format!("http://{addr}/echo"),
            "--next",
            &format!("http://{addr}/hello"),
        ],
        b"",
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "body after continuehello\n");
    assert!(
        out.stderr.contains("< HTTP/1.1 100 Continue"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Re-using existing connection"),
        "the second request did not reuse the connection:\n{}",
        out.stderr
    );
    srv.assert_running();
}

#[test]
fn curl_over_https_with_the_test_ca() {
    let (mut srv, addr) = server(&["--tls=1"]);
    let port = addr.rsplit(':').next().unwrap();
    let got = curl(&["--cacert", CA, &format!("https://localhost:{port}/info")]);
    assert!(got.lines().any(|l| l == "scheme=https"), "{got}");
    srv.assert_running();
}

/// Python helpers: a raw connection, and reading one response (head and content-length or
/// chunked body) from it.
const PY: &str = r#"
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
def conn():
    s = socket.create_connection((host, int(port)), timeout=10)
    return s
class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""
    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("closed with %r buffered" % self.buf)
        self.buf += d
    def until(self, sep):
        while sep not in self.buf:
            self.fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out
    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
    def response(self):
        head = self.until(b"\r\n\r\n").decode()
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for l in lines[1:]:
            if l:
                k, v = l.split(":", 1)
                fields[k.lower()] = v.strip()
        body = b""
        if "content-length" in fields:
            body = self.take(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            while True:
                size = int(self.until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self.until(b"\r\n\r\n") if not self.buf.startswith(b"\r\n") else self.take(2)
                    break
                body += self.take(size)
                self.take(2)
        return status, fields, body
    def closed(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, socket.timeout):
            return False
def status_of(raw):
    s = conn()
    s.sendall(raw)
    r = Reader(s)
    st, fields, _ = r.response()
    return st, fields, r
"#;

fn py(code: &str, addr: &str) {
    let program = format!("{PY}{code}\nprint(\"OK\")\n");
    assert_python_ok(&python(&program, &[addr], LIMIT), "python client");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (mut srv, addr) = server(&[]);
    py(
        r#"
s = conn()
reqs = b"".join(b"GET /info?n=%d HTTP/1.1\r\nhost: x\r\n\r\n" % i for i in range(20))
s.sendall(reqs)
r = Reader(s)
for i in range(20):
    st, f, body = r.response()
    assert st == 200, st
    assert ("query.n=%d\n" % i).encode() in body, body
"#,
        &addr,
    );
    srv.assert_running();
}

#[test]
fn malformed_and_smuggling_requests_are_refused() {
    let (mut srv, addr) = server(&[]);
    py(
        r#"
cases = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),                       # no host on 1.1
    (b"GET / HTTP/2.0\r\nhost: x\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nhost: x\r\n folded: yes\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    (b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, gzip\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd", 400),
    (b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3, 4\r\n\r\nabcd", 400),
    (b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 0x10\r\n\r\n", 400),
]
for raw, want in cases:
    st, f, r = status_of(raw)
    assert st == want, (raw, st, want)
    assert f.get("connection") == "close", (raw, f)
    assert r.closed(), raw
# "Chunked" in any case is chunked; equal repeated lengths are one length.
st, f, r = status_of(b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
assert st == 200, st
st, f, r = status_of(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\nabc")
assert st == 200, st
# An absolute-form target is routed by its path.
st, f, r = status_of(b"GET http://example.test/hello HTTP/1.1\r\nhost: example.test\r\n\r\n")
assert st == 200, st
"#,
        &addr,
    );
    srv.assert_running();
}

#[test]
fn limits_give_431_414_413_and_408() {
    let (mut srv, addr) = server(&["--maxhead=2048", "--maxbody=1000", "--hto=300"]);
    py(
        r#"
st, f, r = status_of(b"GET / HTTP/1.1\r\nhost: x\r\n" + b"x-pad: " + b"a" * 3000 + b"\r\n\r\n")
assert st == 431, st
st, f, r = status_of(b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nhost: x\r\n\r\n")
assert st == 414, st
st, f, r = status_of(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n")
assert st == 413, st
# A chunked body over the limit: the read fails and the connection closes.
s = conn()
s.sendall(b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" + b"400\r\n" + b"z" * 1024 + b"\r\n0\r\n\r\n")
r = Reader(s)
st, f, body = r.response()
assert st == 400 and b"maxbodysize" in body, (st, body)
# A malformed chunk, and chunk data not followed by CRLF: the read fails, the connection closes.
for bad in (b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabXY0\r\n\r\n"):
    s = conn()
    s.sendall(b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" + bad)
    r = Reader(s)
    st, f, body = r.response()
    assert st == 400 and b"bad chunked body" in body, (bad, st, body)
    assert r.closed(), bad
# Chunk extensions are skipped; trailer fields arrive in `trailer`.
s = conn()
s.sendall(b"POST /info HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nx-sum: 3\r\n\r\n")
r = Reader(s)
st, f, body = r.response()
assert st == 200 and b"body=abc" in body and b"trailer.x-sum=3" in body, (st, body)
# A head that never ends: 408 after the header timeout.
s = conn()
s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n")
t = time.time()
r = Reader(s)
st, f, _ = r.response()
assert st == 408, st
assert time.time() - t < 5, "408 came late"
"#,
        &addr,
    );
    srv.assert_running();
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let (mut srv, addr) = server(&["--ito=200"]);
    py(
        r#"
s = conn()
s.sendall(b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n")
r = Reader(s)
st, f, body = r.response()
assert st == 200 and body == b"hello\n"
t = time.time()
assert r.closed(), "not closed"
assert time.time() - t < 5, "closed late"
"#,
        &addr,
    );
    srv.assert_running();
}

#[test]
fn handler_failures_become_500_and_the_server_goes_on() {
    let (mut srv, addr) = server(&[]);
    py(
        r#"
for path in (b"/raise", b"/forget", b"/split"):
    st, f, r = status_of(b"GET " + path + b" HTTP/1.1\r\nhost: x\r\n\r\n")
    assert st == 500, (path, st)
    assert "set-cookie" not in f, f
# The connection is still usable after a 500 for a handler that raised.
s = conn()
s.sendall(b"GET /raise HTTP/1.1\r\nhost: x\r\n\r\nGET /hello HTTP/1.1\r\nhost: x\r\n\r\n")
r = Reader(s)
assert r.response()[0] == 500
st, f, body = r.response()
assert st == 200 and body == b"hello\n"
# A response shorter than its content-length ends the connection.
s = conn()
s.sendall(b"GET /partial HTTP/1.1\r\nhost: x\r\n\r\n")
r = Reader(s)
head = r.until(b"\r\n\r\n")
assert b"content-length: 10" in head, head
assert r.closed()
assert r.buf == b"short", r.buf
"#,
        &addr,
    );
    let err = srv.stderr();
    assert!(err.contains("handler failure on purpose"), "{err}");
    assert!(err.contains("without a response to GET /forget"), "{err}");
    assert!(err.contains("contains CR, LF or NUL"), "{err}");
    srv.assert_running();
}

#[test]
fn http_1_0_closes_unless_keep_alive() {
    let (mut srv, addr) = server(&[]);
    py(
        r#"
st, f, r = status_of(b"GET /info HTTP/1.0\r\n\r\n")
assert st == 200 and f.get("connection") == "close", f
assert r.closed()
s = conn()
s.sendall(b"GET /hello HTTP/1.0\r\nconnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\n\r\n")
r = Reader(s)
assert r.response()[2] == b"hello\n"
assert r.response()[2] == b"hello\n"
assert r.closed()
"#,
        &addr,
    );
    srv.assert_running();
}

/// The client against Python's `http.server` as the upstream: keep-alive pooling (the
/// server sees one connection for two requests), a gzip body decoded, an HTTP/1.0 body that
/// ends with the connection.
#[test]
fn client_against_python_http_server() {
    let upstream = crate::common::PythonServer::start(
        r#"
import gzip, http.server, socketserver, sys, threading
peers = []
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        peers.append(self.client_address[1])
        if self.path == "/gzip":
            body = gzip.compress(b"squeezed " * 100)
            self.send_response(200)
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/old":
            self.protocol_version = "HTTP/1.0"
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"until the end")
            self.close_connection = True
        else:
            body = ("peer %d" % len(set(peers))).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
print("PORT", srv.server_address[1], flush=True)
threading.Timer(20, srv.shutdown).start()
srv.serve_forever()
"#,
        &[],
        LIMIT,
    );
    let script = format!(
        r#"
local http = require "silly.net.http"
local base = "http://127.0.0.1:{port}"
local c = http.newclient({{ timeout = 5000 }})
local a = assert(c:get(base .. "/one"))
local b = assert(c:get(base .. "/two"))
print("POOL", a.body, b.body)
local z = assert(c:get(base .. "/gzip", nil, {{ gzip = true }}))
print("GZIP", z.header["content-encoding"], #z.body, z.body:sub(1, 9))
local o = assert(c:get(base .. "/old"))
print("OLD", o.version, o.body)
c:close()
"#,
        port = upstream.port
    );
    let out = crate::common::run(&["-e", &script], "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "POOL\tpeer 1\tpeer 1", "{out:?}");
    assert_eq!(lines[1], "GZIP\tgzip\t900\tsqueezed ", "{out:?}");
    assert_eq!(lines[2], "OLD\tHTTP/1.0\tuntil the end", "{out:?}");
}

/// A script that serves and fetches in one process ends by itself: the client's idle pooled
/// connection does not keep the process alive, and closing the listener closes the server's
/// keep-alive connection that waits for a next request.
#[test]
fn a_script_with_a_pooled_connection_ends_by_itself() {
    let script = r#"
local http = require "silly.net.http"
local l = assert(http.listen{addr = "127.0.0.1:0", handler = function(s)
	s:closewrite("hello, " .. (s.query.name or "world") .. "\n")
end})
local r = assert(http.get("http://" .. l:localaddr() .. "/?name=silly"))
io.write(r.status, " ", r.body)
l:close()
"#;
    let out = crate::common::run(&["-e", script], "", Duration::from_secs(10));
    assert!(!out.timed_out, "the process did not end: {out:?}");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "200 hello, silly\n");
}

/// A pooled connection the server closed right after its response (a server that closes
/// keep-alive connections early): the next GET reuses it before the close is noticed, meets
/// the end of the stream, and is retried once on a fresh connection. (Only requests without
/// a body whose method is safe to repeat: GET and HEAD.)
#[test]
fn a_stale_pooled_connection_is_retried_for_get() {
    let upstream = crate::common::PythonServer::start(
        r#"
import socket, threading
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
print("PORT", ls.getsockname()[1], flush=True)
ls.settimeout(20)
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d:
            return c.close()
        data += d
    c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    c.close()   # says nothing of it: the client's pool keeps the connection
for _ in range(4):
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,)).start()
"#,
        &[],
        LIMIT,
    );
    let script = format!(
        r#"
local http = require "silly.net.http"
local c = http.newclient({{ timeout = 5000 }})
local base = "http://127.0.0.1:{port}/"
for i = 1, 3 do
	local r, err = c:get(base)
	print("GET", i, r and r.status, r and r.body or err)
end
c:close()
"#,
        port = upstream.port
    );
    let out = crate::common::run(&["-e", &script], "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout, "GET\t1\t200\tok\nGET\t2\t200\tok\nGET\t3\t200\tok\n",
        "{out:?}"
    );
}

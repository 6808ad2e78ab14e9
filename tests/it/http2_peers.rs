//! `silly.net.http` over HTTP/2 (TLS with ALPN "h2") against real clients on 127.0.0.1: curl
//! (GET, POST, a response with trailers, many parallel streams on one connection, limits),
//! h2load (1000 requests, 100 concurrent streams on one connection), and Python's `h2`
//! (Debian's python3-h2) for what a polite client does not do: resetting a finished stream,
//! a rapid-reset burst, a CONTINUATION flood, a body sent into a handler that does not read,
//! a response window that never opens,
//! a handler failing before and after its response began, GOAWAY, bodies and header blocks
//! over the limits.
//!
//! nghttp over TLS and h2c: 1 MiB each way through windows of 1023 bytes, and requests with
//! priorities (PRIORITY frames, weights, dependencies), which are ignored.
//!
//! Plain listeners serve HTTP/2 by prior knowledge (h2c) next to HTTP/1.1.
//!
//! Our HTTP/2 client against nginx's (nginx-light with its Lua module, its own prefix and
//! configuration): GET, POST, 404, 20 concurrent requests on one connection that allows 4
//! streams at once, `h2 = false`.
//!
//! The server is `tests/lua_servers/http_peer.lua`, as for http_peers.rs.

use std::time::Duration;

use crate::common::{self, Running, run_tool, silly};

const LIMIT: Duration = Duration::from_secs(30);
const CA: &str = "tests/fixtures/certs/ca.crt";

fn server(opts: &[&str]) -> (Running, String) {
    let mut cmd = silly();
    cmd.arg("tests/lua_servers/http_peer.lua")
        .arg("--tls=1")
        .args(opts);
    let (r, addr) = Running::listening(cmd, LIMIT);
    let port = addr.rsplit(':').next().unwrap().to_string();
    (r, port)
}

/// curl over HTTP/2 with the test CA; returns its stdout, panicking when it fails.
fn curl(args: &[&str]) -> String {
    curl_with(args, b"")
}

/// `curl` with `stdin` (a body sent with `--data-binary @-`).
fn curl_with(args: &[&str], stdin: &[u8]) -> String {
    let mut all = vec!["--http2", "--cacert", CA];
    all.extend_from_slice(args);
    common::curl(&all, stdin)
}

#[test]
fn curl_h2_get_post_trailers() {
    let (mut srv, port) = server(&[]);
    let base = format!("https://localhost:{port}");
    assert_eq!(
        curl(&["-w", "[%{http_version}]", &format!("{base}/hello")]),
        "hello\n[2]"
    );
    let info = curl(&[
        "-d",
        "payload",
        "-H",
        "X-Multi: a",
        "-H",
        "X-Multi: b",
        "-H",
        "Cookie: a=1",
        "-H",
        "Cookie: b=2",
        &format!("{base}/info?x=1&x=2&sp=a+b%21"),
    ]);
    for want in [
        "method=POST",
        "path=/info",
        "version=HTTP/2",
        "scheme=https",
        "body=payload",
        "query.x=1|2",
        "query.sp=a b!",
        &format!("header.host=localhost:{port}"),
        "header.x-multi=a|b",
        // Several cookie fields are joined into one, as RFC 9113 §8.2.3 asks.
        "header.cookie=a=1; b=2",
    ] {
        assert!(
            info.lines().any(|l| l == want),
            "{want:?} missing in\n{info}"
        );
    }
    // A body larger than the windows: it goes through only as the handler reads.
    let big: String = (0..60000).map(|i| format!("{i}\n")).collect();
    let echoed = curl_with(
        &["--data-binary", "@-", &format!("{base}/echo")],
        big.as_bytes(),
    );
    assert_eq!(echoed.len(), big.len());
    assert!(echoed == big, "echoed body differs");
    let verbose = run_tool(
        "curl",
        &[
            "-sS",
            "-v",
            "--max-time",
            "10",
            "--http2",
            "--cacert",
            CA,
            &format!("{base}/chunked"),
        ],
        b"",
        LIMIT,
    );
    assert_eq!(verbose.code, Some(0), "{verbose:?}");
    assert_eq!(verbose.stdout, "one\ntwo\nthree\n");
    assert!(
        verbose.stderr.contains("< HTTP/2 200"),
        "{}",
        verbose.stderr
    );
    assert!(
        verbose.stderr.contains("< x-checksum: abc"),
        "no trailer in\n{}",
        verbose.stderr
    );
    let code = |path: &str| {
        curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{http_version}",
            &format!("{base}{path}"),
        ])
    };
    assert_eq!(code("/nope"), "404 2");
    assert_eq!(code("/raise"), "500 2");
    assert_eq!(code("/forget"), "500 2");
    srv.assert_running();
}

#[test]
fn curl_h2_parallel_streams_share_one_connection() {
    let (mut srv, port) = server(&[]);
    let url = format!("https://localhost:{port}/hello");
    let mut args = vec![
        "--parallel",
        "--parallel-max",
        "50",
        "-w",
        "%{http_version} %{num_connects}\n",
    ];
    let urls = vec![url.as_str(); 50];
    args.extend(urls);
    let out = curl(&args);
    let stats: Vec<&str> = out.lines().filter(|l| l.starts_with('2')).collect();
    assert_eq!(stats.len(), 50, "{out}");
    let connects: u32 = stats
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse::<u32>().unwrap())
        .sum();
    assert_eq!(
        connects, 1,
        "50 streams should share one connection:\n{out}"
    );
    assert_eq!(out.lines().filter(|l| *l == "hello").count(), 50, "{out}");
    srv.assert_running();
}

#[test]
fn h2load_100_concurrent_streams() {
    let (mut srv, port) = server(&[]);
    let out = run_tool(
        "h2load",
        &[
            "-n",
            "1000",
            "-c",
            "1",
            "-m",
            "100",
            &format!("https://127.0.0.1:{port}/hello"),
        ],
        b"",
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("requests: 1000 total, 1000 started, 1000 done, 1000 succeeded"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("status codes: 1000 2xx"),
        "{}",
        out.stdout
    );
    srv.assert_running();
}

/// A client of its own on Python's h2: each scenario on one connection, printing "OK <name>".
const HOSTILE: &str = r#"
import socket, ssl, sys, time
import h2.connection, h2.config, h2.events, h2.errors, h2.settings
from hyperframe.frame import Frame, RstStreamFrame, HeadersFrame, ContinuationFrame, GoAwayFrame, DataFrame

port = int(sys.argv[1])
ca = sys.argv[2]

def connect():
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    assert s.selected_alpn_protocol() == "h2", s.selected_alpn_protocol()
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    return s, c

def request(s, c, path):
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, [(":method", "GET"), (":path", path), (":scheme", "https"),
                         (":authority", "localhost")], end_stream=True)
    s.sendall(c.data_to_send())
    return sid

def outcome(s, c, sid):
    """(status, body, reset error code or None, goaway seen) once the stream ended."""
    status, body, goaway = None, b"", False
    while True:
        data = s.recv(65536)
        if not data:
            raise AssertionError("connection closed before stream %d ended" % sid)
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                status = dict(ev.headers)[b":status"].decode()
            elif isinstance(ev, h2.events.DataReceived):
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if ev.stream_id == sid:
                    body += ev.data
            elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                s.sendall(c.data_to_send())
                return status, body, None, goaway
            elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                return status, body, ev.error_code, goaway
            elif isinstance(ev, h2.events.ConnectionTerminated):
                goaway = True
        s.sendall(c.data_to_send())

# A stream reset by the client after it ended: the connection goes on.
s, c = connect()
sid = request(s, c, "/hello")
st, body, rst, _ = outcome(s, c, sid)
assert (st, body, rst) == ("200", b"hello\n", None), (st, body, rst)
s.sendall(RstStreamFrame(sid, error_code=8).serialize())
sid = request(s, c, "/hello")
st, body, rst, _ = outcome(s, c, sid)
assert (st, body) == ("200", b"hello\n"), (st, body)
print("OK reset-after-end")

# A handler that raises before responding: 500; after its response began: only its stream
# is reset (INTERNAL_ERROR), and the next request on the connection is answered.
sid = request(s, c, "/raise")
st, body, rst, _ = outcome(s, c, sid)
assert st == "500" and rst is None, (st, rst)
sid = request(s, c, "/raisemid")
st, body, rst, _ = outcome(s, c, sid)
# The reset may overtake the HEADERS h2 still held for the stream: it is what must arrive.
assert rst == h2.errors.ErrorCodes.INTERNAL_ERROR, (st, body, rst)
sid = request(s, c, "/hello")
st, body, rst, _ = outcome(s, c, sid)
assert (st, body, rst) == ("200", b"hello\n", None), (st, body, rst)
print("OK handler-failures")
s.close()

# A handler that does not read: the client is stopped at the stream's window (256 KiB), which
# stays shut until the handler is done.
s, c = connect()
settings = False
while not settings or c.outbound_flow_control_window < 1024 * 1024:
    events = c.receive_data(s.recv(65536))
    s.sendall(c.data_to_send())
    settings = settings or any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events)
sid = c.get_next_available_stream_id()
c.send_headers(sid, [(":method", "POST"), (":path", "/stall"), (":scheme", "https"),
                     (":authority", "localhost")])
window = c.local_flow_control_window(sid)
assert window == 256 * 1024, window
for _ in range(window // 16384):
    c.send_data(sid, b"x" * 16384)
s.sendall(c.data_to_send())
s.settimeout(0.3)
try:
    while True:
        for ev in c.receive_data(s.recv(65536)):
            assert not isinstance(ev, h2.events.ResponseReceived), ev
except (TimeoutError, socket.timeout):
    pass
assert c.local_flow_control_window(sid) == 0, c.local_flow_control_window(sid)
s.settimeout(10)
st, body, rst, _ = outcome(s, c, sid)
assert (st, body) == ("200", b"stalled\n"), (st, body)
s.close()
print("OK window-backpressure")

# Rapid reset: many streams opened and reset at once: GOAWAY ENHANCE_YOUR_CALM (11) ends this
# connection, and the server goes on serving others.
s, c = connect()
burst = b""
sid = 1
for i in range(200):
    hf = HeadersFrame(sid)
    hf.data = c.encoder.encode([(":method", "GET"), (":path", "/hello"), (":scheme", "https"),
                                (":authority", "localhost")])
    hf.flags.add("END_HEADERS")
    hf.flags.add("END_STREAM")
    burst += hf.serialize() + RstStreamFrame(sid, error_code=8).serialize()
    sid += 2

def goaway_code(s, burst):
    """Sends `burst`, reads to the end: the error code of the last GOAWAY (None: none)."""
    buf, code = b"", None
    try:
        s.sendall(burst)
    except (OSError, ssl.SSLError):
        pass  # the server may close before it has read everything
    try:
        s.settimeout(5)
        while True:
            data = s.recv(65536)
            if not data:
                break
            buf += data
    except (OSError, ssl.SSLError):
        pass
    s.close()
    while len(buf) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(buf[:9]))
        if len(buf) < 9 + length:
            break
        frame.parse_body(memoryview(buf[9:9 + length]))
        buf = buf[9 + length:]
        if isinstance(frame, GoAwayFrame):
            code = frame.error_code
    return code

code = goaway_code(s, burst)
assert code == 11, code
s, c = connect()
sid = request(s, c, "/hello")
st, body, rst, _ = outcome(s, c, sid)
assert (st, body) == ("200", b"hello\n"), (st, body)
s.close()
print("OK rapid-reset")

# A window that never opens: streams that start without window (SETTINGS_INITIAL_WINDOW_SIZE 0)
# and no WINDOW_UPDATE. The handler's 100 KiB write waits the server's bodytimeout (--bto=300),
# then its stream is reset (CANCEL); the connection answers the next request once the client
# gives its streams window again.
s, c = connect()
c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
s.sendall(c.data_to_send())
start = time.monotonic()
sid = request(s, c, "/big?n=102400")
st, body, rst, _ = outcome(s, c, sid)
waited = time.monotonic() - start
assert st in ("200", None) and body == b"" and rst == h2.errors.ErrorCodes.CANCEL, (st, body, rst)
assert 0.25 <= waited < 5, waited
c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
s.sendall(c.data_to_send())
sid = request(s, c, "/hello")
st, body, rst, _ = outcome(s, c, sid)
assert (st, body, rst) == ("200", b"hello\n", None), (st, body, rst)
s.close()
print("OK window-never-opens")

# A header block that never ends: HEADERS without END_HEADERS, then empty CONTINUATION frames.
s, c = connect()
hf = HeadersFrame(1)
hf.data = c.encoder.encode([(":method", "GET"), (":path", "/hello"), (":scheme", "https"),
                            (":authority", "localhost")])
burst = hf.serialize() + b"".join(ContinuationFrame(1).serialize() for _ in range(100))
code = goaway_code(s, burst)
assert code == 11, code
s, c = connect()
sid = request(s, c, "/hello")
st, body, rst, _ = outcome(s, c, sid)
assert (st, body) == ("200", b"hello\n"), (st, body)
print("OK continuation-flood")

# GOAWAY: /goaway closes the listener, then answers; the answer still arrives. Python's h2
# takes a GOAWAY for the end (the PING of a graceful shutdown upsets it): frames are read here.
sid = request(s, c, "/goaway")
buf, body, goaway, ended = b"", b"", False, False
while not ended:
    data = s.recv(65536)
    if not data:
        break
    buf += data
    while len(buf) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(buf[:9]))
        if len(buf) < 9 + length:
            break
        frame.parse_body(memoryview(buf[9:9 + length]))
        buf = buf[9 + length:]
        if isinstance(frame, GoAwayFrame):
            goaway = True
        elif isinstance(frame, DataFrame) and frame.stream_id == sid:
            body += frame.data
            ended = "END_STREAM" in frame.flags
assert goaway and ended and body == b"answered after close\n", (goaway, ended, body)
print("OK goaway")
"#;

#[test]
fn python_h2_hostile_clients() {
    // A short bodytimeout for "window-never-opens"; the other scenarios wait for no window.
    let (mut srv, port) = server(&["--bto=300"]);
    // Debian's interpreter: python3-h2 is a Debian package (.ci/run installs it).
    let out = run_tool("/usr/bin/python3", &["-c", HOSTILE, &port, CA], b"", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    for want in [
        "OK reset-after-end",
        "OK handler-failures",
        "OK window-backpressure",
        "OK rapid-reset",
        "OK window-never-opens",
        "OK continuation-flood",
        "OK goaway",
    ] {
        assert!(out.stdout.contains(want), "{want} missing:\n{out:?}");
    }
    // The handler's write failed with TIMEDOUT, and the log says so once, below the error
    // level.
    assert_eq!(
        srv.line_starting("BIG"),
        "BIG false Operation timed out (110)"
    );
    // The listener closed and its last connection ended: nothing keeps the process alive.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = srv.child.try_wait().expect("try_wait") {
            assert!(st.success(), "silly exited with {st}:\n{}", srv.stderr());
            break;
        }
        if std::time::Instant::now() > deadline {
            srv.fail("silly still running after GOAWAY and the last stream");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = srv.stderr();
    assert!(!log.contains("panicked"), "{log}");
    let timed_out: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("no flow-control window"))
        .collect();
    assert_eq!(timed_out.len(), 1, "{log}");
    assert!(
        timed_out[0].contains(" I ") && timed_out[0].contains("GET /big"),
        "{log}"
    );
}

/// Bodies over `maxbodysize`: refused with 413 when the content-length says so, and failing the
/// handler's read when it does not. (curl 7.88 takes the RST_STREAM NO_ERROR that follows an
/// early response for a failure: Python's h2 is the client here.)
const BODY_LIMIT: &str = r#"
import socket, ssl, sys
import h2.connection, h2.config, h2.events
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
s.sendall(c.data_to_send())

def post(sid, header, body):
    c.send_headers(sid, [(":method", "POST"), (":path", "/echo"), (":scheme", "https"),
                         (":authority", "localhost")] + header)
    c.send_data(sid, body, end_stream=True)
    s.sendall(c.data_to_send())
    status, got = None, b""
    while True:
        data = s.recv(65536)
        assert data, "connection closed"
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                status = dict(ev.headers)[b":status"].decode()
            elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                got += ev.data
            elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                s.sendall(c.data_to_send())
                return status, got
        s.sendall(c.data_to_send())

print("A", post(1, [("content-length", "5000")], b"x" * 5000))
print("B", post(3, [], b"x" * 5000))
print("C", post(5, [], b"x" * 500)[0])
"#;

#[test]
fn python_h2_body_limit() {
    let (mut srv, port) = server(&["--maxbody=1000"]);
    let out = run_tool(
        "/usr/bin/python3",
        &["-c", BODY_LIMIT, &port, CA],
        b"",
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("A ('413', b'')"), "{out:?}");
    assert!(
        out.stdout.contains("B ('400', b'body over maxbodysize')"),
        "{out:?}"
    );
    assert!(out.stdout.contains("C 200"), "{out:?}");
    srv.assert_running();
}

#[test]
fn h2c_prior_knowledge_next_to_http1() {
    let mut cmd = silly();
    cmd.arg("tests/lua_servers/http_peer.lua");
    let (mut srv, addr) = Running::listening(cmd, LIMIT);
    let get = |proto: &str, path: &str| {
        let out = run_tool(
            "curl",
            &[
                "-sS",
                "--max-time",
                "10",
                proto,
                "-w",
                "[%{http_version}]",
                "-d",
                "abc",
                &format!("http://{addr}{path}"),
            ],
            b"",
            LIMIT,
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        out.stdout
    };
    assert_eq!(get("--http2-prior-knowledge", "/echo"), "abc[2]");
    assert_eq!(get("--http1.1", "/echo"), "abc[1.1]");
    let info = get("--http2-prior-knowledge", "/info");
    assert!(info.contains("\nscheme=http\n"), "{info}");
    assert!(info.contains("\nversion=HTTP/2\n"), "{info}");
    let out = run_tool(
        "h2load",
        &[
            "-n",
            "1000",
            "-c",
            "1",
            "-m",
            "100",
            &format!("http://{addr}/hello"),
        ],
        b"",
        LIMIT,
    );
    assert!(
        out.stdout
            .contains("requests: 1000 total, 1000 started, 1000 done, 1000 succeeded"),
        "{out:?}"
    );
    srv.assert_running();
}

#[test]
fn h2c_off_refuses_the_preface() {
    let mut cmd = silly();
    cmd.arg("tests/lua_servers/http_peer.lua").arg("--h2c=0");
    let (mut srv, addr) = Running::listening(cmd, LIMIT);
    let out = run_tool(
        "curl",
        &[
            "-sS",
            "--max-time",
            "10",
            "--http2-prior-knowledge",
            &format!("http://{addr}/hello"),
        ],
        b"",
        LIMIT,
    );
    assert_ne!(out.code, Some(0), "{out:?}");
    assert_eq!(
        run_tool(
            "curl",
            &["-sS", "--max-time", "10", &format!("http://{addr}/hello")],
            b"",
            LIMIT
        )
        .stdout,
        "hello\n"
    );
    srv.assert_running();
}

/// A connection with no stream for `idletimeout` gets GOAWAY and ends.
const IDLE: &str = r#"
import socket, ssl, sys, time
import h2.connection, h2.config, h2.events
from hyperframe.frame import Frame, GoAwayFrame
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "GET"), (":path", "/hello"), (":scheme", "https"),
                   (":authority", "localhost")], end_stream=True)
s.sendall(c.data_to_send())
start = time.monotonic()
buf, goaway = b"", False
while True:
    data = s.recv(65536)
    if not data:
        break
    buf += data
    while len(buf) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(buf[:9]))
        if len(buf) < 9 + length:
            break
        frame.parse_body(memoryview(buf[9:9 + length]))
        buf = buf[9 + length:]
        goaway = goaway or isinstance(frame, GoAwayFrame)
print("ended after %.1f s, goaway %s" % (time.monotonic() - start, goaway))
"#;

#[test]
fn python_h2_idle_timeout() {
    let (mut srv, port) = server(&["--ito=300"]);
    let out = run_tool("/usr/bin/python3", &["-c", IDLE, &port, CA], b"", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    let line = out.stdout.trim();
    assert!(line.ends_with("goaway True"), "{out:?}");
    let secs: f64 = line.split(' ').nth(2).unwrap().parse().unwrap();
    assert!((0.2..5.0).contains(&secs), "{line}");
    srv.assert_running();
}

#[test]
fn curl_h2_header_list_over_maxheadersize() {
    let (mut srv, port) = server(&["--maxhead=1000"]);
    let big = format!("X-Big: {}", "a".repeat(3000));
    let got = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{http_version}",
        "-H",
        &big,
        &format!("https://localhost:{port}/hello"),
    ]);
    assert_eq!(got, "431 2");
    // The connection's other requests are not affected.
    assert_eq!(
        curl(&[&format!("https://localhost:{port}/hello")]),
        "hello\n"
    );
    srv.assert_running();
}

/// nghttp (Debian's nghttp2-client) with `args`; returns its stdout, panicking when it fails.
/// It has no CA option and does not verify certificates (`-y` only silences its warning),
/// which is fine on 127.0.0.1; an `http://` URL is HTTP/2 by prior knowledge.
fn nghttp(args: &[&str]) -> String {
    let mut all = vec!["-y", "-t", "10"];
    all.extend_from_slice(args);
    let out = run_tool("nghttp", &all, b"", LIMIT);
    assert_eq!(out.code, Some(0), "nghttp {args:?}: {out:?}");
    out.stdout
}

/// Our TLS server on "https://localhost:PORT" and our plain one (h2c) on "http://ADDR".
fn tls_and_h2c_servers() -> [(Running, String); 2] {
    let (tls, port) = server(&[]);
    let mut cmd = silly();
    cmd.arg("tests/lua_servers/http_peer.lua");
    let (plain, addr) = Running::listening(cmd, LIMIT);
    [
        (tls, format!("https://localhost:{port}")),
        (plain, format!("http://{addr}")),
    ]
}

/// What http_peer.lua's /blob?n=N sends.
fn blob(n: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n).map(|i| ALNUM[i % ALNUM.len()] as char).collect()
}

/// Flow control with windows of 1023 bytes per stream and 16383 per connection on nghttp's
/// side: 1 MiB goes down (through about a thousand window updates) and 1 MiB goes up and comes
/// back from /echo, intact, over TLS and over h2c.
#[test]
fn nghttp_small_windows_carry_a_mebibyte_intact() {
    const MIB: usize = 1024 * 1024;
    let want = blob(MIB);
    // The upload: printable bytes from a small generator, unlike the download's pattern.
    let mut x: u32 = 12345;
    let up: String = (0..MIB)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (b'!' + ((x >> 16) % 94) as u8) as char
        })
        .collect();
    let file = common::temp_dir("nghttp-upload").join("body");
    std::fs::write(&file, &up).unwrap();
    let file = file.to_str().unwrap();
    for (mut srv, base) in tls_and_h2c_servers() {
        let got = nghttp(&["-w", "10", "-W", "14", &format!("{base}/blob?n={MIB}")]);
        assert_eq!(got.len(), MIB, "{base}: length");
        assert!(got == want, "{base}: the downloaded body differs");
        let echoed = nghttp(&["-w", "10", "-W", "14", "-d", file, &format!("{base}/echo")]);
        assert_eq!(echoed.len(), MIB, "{base}: echoed length");
        assert!(echoed == up, "{base}: the echoed body differs");
        srv.assert_running();
    }
}

/// nghttp sends priorities (PRIORITY frames for its dependency tree, a priority in each
/// HEADERS; `-a` fetches a page's assets with different weights, `-p` sets weights): h2
/// ignores them, every request gets its 200 and the server goes on.
#[test]
fn nghttp_priorities_are_ignored() {
    for (mut srv, base) in tls_and_h2c_servers() {
        let out = nghttp(&["-v", "-n", "-a", &format!("{base}/page")]);
        assert!(out.contains("send PRIORITY frame"), "{out}");
        assert!(
            out.contains("; END_STREAM | END_HEADERS | PRIORITY"),
            "{out}"
        );
        let ok = out.matches(":status: 200").count();
        assert_eq!(ok, 5, "the page and its 4 assets:\n{out}");
        assert_eq!(out.matches(":status:").count(), 5, "{out}");
        let out = nghttp(&[
            "-n",
            "-s",
            "-m",
            "3",
            "-p",
            "1",
            "-p",
            "256",
            &format!("{base}/hello"),
            &format!("{base}/blob?n=70000"),
        ]);
        let rows: Vec<&str> = out
            .lines()
            .filter(|l| l.contains(" /hello") || l.contains(" /blob"))
            .collect();
        assert_eq!(rows.len(), 6, "{out}");
        for row in rows {
            let code = row.split_whitespace().nth(4);
            assert_eq!(code, Some("200"), "{out}");
        }
        assert_eq!(nghttp(&[&format!("{base}/hello")]), "hello\n");
        srv.assert_running();
    }
}

/// nginx (Debian's nginx-light with its Lua module) serving HTTP/2 over TLS from its own
/// prefix, configuration and port on 127.0.0.1; killed when dropped. Never a system service.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Nginx {
    fn start() -> Nginx {
        let prefix = crate::common::temp_dir("nginx-h2");
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        let certs = crate::common::root().join("tests/fixtures/certs");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let p = prefix.display();
        let c = certs.display();
        let conf = format!(
            r#"
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log {p}/logs/error.log error;
pid {p}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    client_body_buffer_size 2m;
    client_max_body_size 2m;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        # Fewer than the test's 20 concurrent requests: the rest wait for a stream slot.
        http2_max_concurrent_streams 4;
        ssl_certificate {c}/server-rsa-chain.crt;
        ssl_certificate_key {c}/server-rsa.key;
        root {p}/html;
        location = /who {{
            content_by_lua_block {{
                if ngx.var.arg_slow then ngx.sleep(0.05) end
                ngx.print(ngx.var.server_protocol, " ", ngx.var.connection)
            }}
        }}
        location = /echo {{
            content_by_lua_block {{
                ngx.req.read_body()
                local b = ngx.req.get_body_data() or ""
                ngx.header["x-len"] = #b
                ngx.print(b)
            }}
        }}
    }}
}}
"#
        );
        let path = prefix.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = std::process::Command::new("nginx")
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(&prefix)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nginx is needed by this test: {e}"));
        let mut n = Nginx { child, port };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = n.child.try_wait() {
                let log =
                    std::fs::read_to_string(prefix.join("logs/error.log")).unwrap_or_default();
                panic!("nginx ended ({st}): {log}");
            }
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client script of `our_client_against_nginx_h2`: one line per result.
const NGINX_CLIENT: &str = r#"
local http = require "silly.net.http"
local task = require "silly.task"
local time = require "silly.time"
local f = assert(io.open("tests/fixtures/certs/ca.crt"))
local ca = f:read("a")
f:close()
local base = "https://localhost:" .. arg[1]
local c = http.newclient({ ca = ca, timeout = 5000 })
local r = assert(c:get(base .. "/who"))
print("get", r.status, r.version, r.body)
local big = string.rep("0123456789abcdef", 40000)
r = assert(c:post(base .. "/echo", nil, big))
print("post", r.status, r.header["x-len"], r.body == big)
r = assert(c:get(base .. "/nope"))
print("404", r.status, r.version)
local bodies, left = {}, 20
for i = 1, 20 do
	task.fork(function()
		local rr = assert(c:get(base .. "/who?slow=1"))
		bodies[rr.body] = true
		left = left - 1
	end)
end
while left > 0 do
	time.sleep(10)
end
local n = 0
for b in pairs(bodies) do
	n = n + 1
	print("concurrent", b)
end
print("connections", n)
r = assert(c:get(base .. "/who", nil, { h2 = false }))
print("h1", r.status, r.version, r.body)
c:close()
"#;

#[test]
fn our_client_against_nginx_h2() {
    let nginx = Nginx::start();
    let dir = crate::common::temp_dir("nginx-h2-client");
    let script = dir.join("client.lua");
    std::fs::write(&script, NGINX_CLIENT).unwrap();
    let port = nginx.port.to_string();
    let out = crate::common::run(&[script.to_str().unwrap(), &port], "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let get = lines[0];
    assert!(
        get.starts_with("get\t200\tHTTP/2\tHTTP/2.0 "),
        "{}",
        out.stdout
    );
    let first_conn = get.rsplit(' ').next().unwrap();
    assert_eq!(lines[1], "post\t200\t640000\ttrue", "{}", out.stdout);
    assert_eq!(lines[2], "404\t404\tHTTP/2", "{}", out.stdout);
    // nginx's connection serial number: the same for the 20 concurrent requests as for the
    // first one, a pooled HTTP/2 connection shared by all.
    assert_eq!(
        lines[3],
        format!("concurrent\tHTTP/2.0 {first_conn}"),
        "{}",
        out.stdout
    );
    assert_eq!(lines[4], "connections\t1", "{}", out.stdout);
    assert!(
        lines[5].starts_with("h1\t200\tHTTP/1.1\tHTTP/1.1 "),
        "{}",
        out.stdout
    );
    drop(nginx);
}

//! `silly.net.websocket` against Python's `websockets` (Debian's python3-websockets, run with
//! Debian's /usr/bin/python3), as client and as server, on 127.0.0.1: text and binary
//! messages, fragmentation, large and compressed messages, ping/pong, close codes both ways,
//! subprotocols, Firefox's `connection: keep-alive, Upgrade`, and an oversized message refused.

use std::time::Duration;

use crate::common::{PythonServer, Running, assert_python_ok, run_tool, silly};

const LIMIT: Duration = Duration::from_secs(30);
const PYTHON: &str = "/usr/bin/python3";

fn server() -> (Running, String) {
    let mut cmd = silly();
    cmd.arg("tests/lua_servers/ws_peer.lua");
    Running::listening(cmd, LIMIT)
}

fn py(code: &str, args: &[&str]) {
    let mut all = vec!["-c", code];
    all.extend_from_slice(args);
    let out = run_tool(PYTHON, &all, b"", LIMIT);
    assert_python_ok(&out, "python websockets");
}

#[test]
fn python_client_against_silly_server() {
    let (mut srv, addr) = server();
    py(
        r#"
import asyncio, os, sys, websockets
addr = sys.argv[1]
async def main():
    async with websockets.connect("ws://%s/echo" % addr, subprotocols=["chat"], compression="deflate", max_size=None) as ws:
        assert ws.subprotocol == "chat", ws.subprotocol
        assert any("permessage-deflate" in str(e.name) for e in ws.extensions), ws.extensions
        await ws.send("héllo")
        assert await ws.recv() == "héllo"
        blob = os.urandom(1 << 20)
        await ws.send(blob)
        assert await ws.recv() == blob
        text = "compressible " * 10000
        await ws.send(text)
        assert await ws.recv() == text
        await ws.send(["frag", "mented", " message"])
        assert await ws.recv() == "fragmented message"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        await ws.close(code=4001, reason="done here")
    async with websockets.connect("ws://%s/bye" % addr) as ws:
        assert await ws.recv() == "going away"
        try:
            await ws.recv()
            raise SystemExit("no close")
        except websockets.ConnectionClosed as e:
            assert e.rcvd.code == 4000, e
            assert e.rcvd.reason == "bye", e
    async with websockets.connect("ws://%s/small" % addr, compression=None) as ws:
        await ws.send("x" * 5000)
        try:
            await ws.recv()
            raise SystemExit("oversized message accepted")
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1009, e
asyncio.run(main())
print("OK")
"#,
        &[&addr],
    );
    let echo = srv.line_starting("RESULT /echo");
    assert!(
        echo.contains("end=close code=4001 reason=done_here messages=4"),
        "{echo}"
    );
    let bye = srv.line_starting("RESULT /bye");
    assert!(bye.contains("closed=us"), "{bye}");
    let small = srv.line_starting("RESULT /small");
    assert!(small.contains("end=error"), "{small}");
    srv.assert_running();
}

#[test]
fn handshakes_firefox_style_and_refusals() {
    let (mut srv, addr) = server();
    py(
        r#"
import base64, hashlib, os, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
def handshake(fields):
    s = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    head = "GET /echo HTTP/1.1\r\nhost: x\r\nsec-websocket-key: %s\r\n%s\r\n" % (key, fields)
    s.sendall(head.encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        d = s.recv(4096)
        if not d:
            break
        resp += d
    return s, key, resp.decode(errors="replace")
s, key, resp = handshake("upgrade: websocket\r\nconnection: keep-alive, Upgrade\r\nsec-websocket-version: 13\r\n")
assert resp.startswith("HTTP/1.1 101"), resp
accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
assert ("sec-websocket-accept: %s" % accept) in resp, resp
# An unmasked frame from a client is a protocol error: the server closes with 1002.
s.sendall(bytes([0x81, 0x02]) + b"hi")
data = s.recv(100)
assert data[:2] == bytes([0x88, 0x02]) or data[0] == 0x88, data
assert int.from_bytes(data[2:4], "big") == 1002, data
_, _, resp = handshake("upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 8\r\n")
assert resp.startswith("HTTP/1.1 426"), resp
_, _, resp = handshake("connection: Upgrade\r\nsec-websocket-version: 13\r\n")
assert resp.startswith("HTTP/1.1 400"), resp
print("OK")
"#,
        &[&addr],
    );
    srv.assert_running();
}

#[test]
fn silly_client_against_python_server() {
    let upstream = PythonServer::start_with(
        PYTHON,
        r#"
import asyncio, websockets
async def echo(ws, path):
    async for m in ws:
        if m == "close please":
            await ws.close(code=4002, reason="as asked")
            return
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, subprotocols=["chat"], compression="deflate", max_size=None) as server:
        print("PORT", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(20)
asyncio.run(main())
"#,
        &[],
        LIMIT,
    );
    let script = format!(
        r#"
local websocket = require "silly.net.websocket"
local ws = assert(websocket.connect("ws://127.0.0.1:{port}/", nil, {{ compress = true, subprotocols = {{ "chat" }} }}))
print("PROTOCOL", ws.protocol)
assert(ws:write("hello", "text"))
print("TEXT", ws:read())
local big = string.rep("abc", 100000)
assert(ws:write(big))
local got, kind = ws:read()
print("BIG", #got, kind, got == big)
assert(ws:write("close please", "text"))
local reason, kind2, code = ws:read()
print("CLOSE", kind2, code, reason)
"#,
        port = upstream.port
    );
    let out = crate::common::run(&["-e", &script], "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "PROTOCOL\tchat", "{out:?}");
    assert_eq!(lines[1], "TEXT\thello\ttext", "{out:?}");
    assert_eq!(lines[2], "BIG\t300000\tbinary\ttrue", "{out:?}");
    assert_eq!(lines[3], "CLOSE\tclose\t4002\tas asked", "{out:?}");
}

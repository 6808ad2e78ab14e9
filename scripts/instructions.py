#!/usr/bin/env python3
"""scripts/instructions.py: user-space instructions per request of silly's servers, counted by
callgrind. Unlike CPU time, the count does not move with the load of a shared machine, so it
shows what a change to the hot path saves (kernel time is not counted: see make bench).

Run: make bench-instr   (or: python3 scripts/instructions.py [KIND...] [--n N] [--bin A --bin B])
KIND: http (GET, one field), browser (GET with 8 browser-like fields), p16 (GET pipelined 16
deep), ping (Redis PING over TCP), h2 (HTTP/2 GET by prior knowledge, one stream at a time on
each connection, h2load -m 1), h2m32 (the same, 32 concurrent streams on 4 connections). Each
server runs under valgrind; after 200 warm-up requests the counters are zeroed, N requests are
made over 10 keep-alive connections (4 for h2m32), and the total is divided by N. Needs
valgrind (installed with apt-get when missing) and h2load for the h2 kinds.
"""
import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GET = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n"
BROWSER = (b"GET / HTTP/1.1\r\nHost: localhost\r\n"
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
           b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
           b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
           b"Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\n"
           b"Cookie: session=abc123; theme=dark\r\n\r\n")
BODY = b"hello, world\n"  # what scripts/bench/http_silly.lua answers
CONNS = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(conn, request, count, done):
    """Sends `request` and reads until `done(bytes_so_far)` says the answers are all in."""
    conn.sendall(request)
    got = b""
    while not done(got, count):
        chunk = conn.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        got += chunk


def h2load(port, n, conns, streams):
    p = subprocess.run(["h2load", "-n", str(n), "-c", str(conns), "-m", str(streams),
                        f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=600)
    want = f"{n} succeeded"
    if p.returncode != 0 or want not in p.stdout:
        raise RuntimeError(f"h2load: exit {p.returncode}: {p.stdout[-1000:]}{p.stderr[-1000:]}")
    return n


def drive(kind, port, n):
    if kind == "h2":
        return h2load(port, n, CONNS, 1)
    if kind == "h2m32":
        return h2load(port, n, 4, 32)
    conns = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(CONNS)]
    try:
        per = max(1, n // CONNS)
        for c in conns:
            if kind == "ping":
                for _ in range(per):
                    exchange(c, b"PING\r\n", 1, lambda g, k: g.endswith(b"\r\n"))
            elif kind == "p16":
                for _ in range(per // 16):
                    exchange(c, GET * 16, 16, lambda g, k: g.count(BODY) >= k)
            else:
                req = BROWSER if kind == "browser" else GET
                for _ in range(per):
                    exchange(c, req, 1, lambda g, k: g.endswith(BODY))
    finally:
        for c in conns:
            c.close()
    return (n // CONNS // 16) * 16 * CONNS if kind == "p16" else (n // CONNS) * CONNS


def count(binary, kind, n):
    script = "redis_ping_silly.lua" if kind == "ping" else "http_silly.lua"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        srv = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary,
             os.path.join(ROOT, "scripts", "bench", script), f"--port={port}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            if not srv.stdout.readline().startswith("ready"):
                raise RuntimeError(f"{binary} {script}: did not start")
            drive(kind, port, 200)
            subprocess.run(["callgrind_control", "--zero", str(srv.pid)], check=True,
                           capture_output=True, timeout=60)
            made = drive(kind, port, n)
            subprocess.run(["callgrind_control", "--dump", str(srv.pid)], check=True,
                           capture_output=True, timeout=60)
        finally:
            srv.terminate()
            srv.wait(timeout=60)
        # The explicit dump is the first part written ("cg.out.1"); the final one is the rest.
        dumps = sorted(glob.glob(out + ".*"))
        if not dumps:
            raise RuntimeError("callgrind wrote no dump")
        with open(dumps[0]) as f:
            for line in f:
                if line.startswith("summary:"):
                    return int(line.split()[1]) / made
    raise RuntimeError("no summary in the callgrind dump")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kinds", nargs="*", default=["http", "browser", "p16", "ping"])
    p.add_argument("--n", type=int, default=4000, help="requests per measurement")
    p.add_argument("--bin", action="append", help="binaries to compare (default: release)")
    a = p.parse_args()
    if not shutil.which("valgrind"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "valgrind"], check=True)
    bins = a.bin or [os.path.join(ROOT, "target", "release", "silly")]
    print(f"{'kind':<8} {'instructions/request':>21}  binary")
    for kind in a.kinds:
        for b in bins:
            print(f"{kind:<8} {count(b, kind, a.n):>21,.0f}  {os.path.relpath(b, ROOT)}",
                  flush=True)


if __name__ == "__main__":
    sys.exit(main())

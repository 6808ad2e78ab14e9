#!/usr/bin/env python3
"""Soak and fault suite for silly: long runs and misbehaving peers against the servers in
scripts/soak/, on 127.0.0.1 only, printing one table (a Markdown table: case, figures, target,
ok/MISSED). Exit status 1 when any row is MISSED.

Run: make soak             (or: python3 scripts/soak.py, after cargo build --release)

Environment:
  SOAK_SCALE=1.0     scales every count (requests, connections, peers); tests/it/soak_short.rs
                     runs the whole suite at 0.01 with the debug binary
  SOAK_ONLY=a,b      run only these cases (names: see CASES at the bottom)
  SILLY=path         the binary under test (default target/release/silly)

Memory and descriptor counts are exact; times (p99, durations) depend on what else the machine
runs and are reported, not judged. Every wait is bounded: a case that hangs fails its row.
"""

import asyncio
import http.client
import os
import random
import resource
import select
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, SILLY, raise_nofile, rss_kib  # noqa: E402

SCALE = float(os.environ.get("SOAK_SCALE", "1.0"))
CERTS = os.path.join(ROOT, "tests", "fixtures", "certs")
PING_SERVER = "scripts/soak/ping.lua"
HTTP_RAISE_SERVER = "scripts/soak/http_raise.lua"
# Peer-caused log records let through per second and kind (src/log.rs, PEER_LINES_PER_SEC),
# plus the one record that reports how many were suppressed.
PEER_LINES_PER_SEC = 10


class SoakError(Exception):
    pass


def scaled(full, least):
    """`full` times SOAK_SCALE, at least `least`."""
    return max(least, int(full * SCALE))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def within(a, b, frac):
    """Whether b is within ±frac of a."""
    return abs(b - a) <= frac * a


class Server:
    """A silly server from scripts/soak/, started with its "ready <port>" line awaited (10 s);
    stderr goes to a file, whose size is the log volume. `nofile` lowers RLIMIT_NOFILE."""

    def __init__(self, script, *opts, nofile=None):
        def limits():
            if nofile is None:
                raise_nofile()
            else:
                # both limits: silly lifts its soft limit to the hard one at start-up
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([SILLY, script, "--port=0", *opts], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=self.err,
                                     preexec_fn=limits)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("ready"):
            self.stop()
            raise SoakError(f"{script} did not start: {line!r} {self.log()[-1000:]!r}")
        self.port = int(line.split()[1])
        self.pid = self.proc.pid

    def rss(self):
        return rss_kib(self.pid)

    def fds(self):
        return fd_count(self.pid)

    def log_bytes(self):
        return os.fstat(self.err.fileno()).st_size

    def log(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def check_alive(self):
        if self.proc.poll() is not None:
            raise SoakError(f"server exited {self.proc.returncode}: {self.log()[-1000:]}")
        if "panicked" in self.log():
            raise SoakError(f"server panicked: {self.log()[-1000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.err.close()


def client_ctx(verify=False):
    if verify:
        ctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.crt"))
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(port, tls, timeout=10, verify=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        s = client_ctx(verify).wrap_socket(s, server_hostname="localhost")
    return s


def read_line(s):
    got = b""
    while not got.endswith(b"\r\n"):
        b = s.recv(1)
        if not b:
            raise SoakError(f"connection closed after {got!r}")
        got += b
    return got


def ask(port, tls, line=b"PING\r\n", timeout=10):
    """One request on a new connection; the reply line."""
    with connect(port, tls, timeout) as s:
        s.sendall(line)
        return read_line(s)


def client_hello():
    """The first flight of a real TLS client, for peers that stop or reset half-way."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx().wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def reset(s):
    """Closes `s` with an RST instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()


def settle(probe, good, limit_s=15):
    """Polls `probe()` until `good(value)` or `limit_s`; the last value."""
    deadline = time.monotonic() + limit_s
    while True:
        v = probe()
        if good(v) or time.monotonic() > deadline:
            return v
        time.sleep(0.2)


def kib(n):
    return f"{n / 1024:.1f} MiB"


# ---- cases: each returns (figures, target, ok) -------------------------------------------


def keepalive(tls):
    """redis-benchmark (-t ping: PING_INLINE and PING_MBULK, 50 keep-alive connections): 10%
    of the requests, RSS, the other 90%, RSS. Errors: requests the server did not count
    (COUNT) plus failed redis-benchmark runs."""
    total = scaled(1_000_000, 2000)
    with Server(PING_SERVER, f"--proto={'tls' if tls else 'tcp'}") as srv:
        rss = []
        errors = 0
        for part in (total // 10, total - total // 10):
            cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(srv.port), "-c", "50",
                   "-t", "ping", "-n", str(part // 2), "--csv"]
            if tls:
                cmd += ["--tls", "--insecure"]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            if p.returncode != 0 or "rror" in p.stderr:
                errors += 1
                print(f"  redis-benchmark: exit {p.returncode} {p.stderr[-500:]}", flush=True)
            rss.append(srv.rss())
        srv.check_alive()
        counted = int(ask(srv.port, tls, b"COUNT\r\n")[1:-2])
        sent = total // 10 // 2 * 2 + (total - total // 10) // 2 * 2
        errors += abs(sent - counted)
    ok = errors == 0 and within(rss[0], rss[1], 0.10)
    return (f"{sent} requests, errors {errors}, RSS {kib(rss[0])} at 10% / {kib(rss[1])} at 100% "
            f"({(rss[1] - rss[0]) / rss[0] * 100:+.1f}%)", "0 errors, RSS ±10%", ok)


async def open_tls(port, ctx, sem):
    async with sem:
        r, w = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"), 60)
        w.write(b"PING\r\n")
        line = await asyncio.wait_for(r.readuntil(b"\r\n"), 60)
        if line != b"+PONG\r\n":
            raise SoakError(f"bad reply {line!r}")
        return w


async def close_all(writers):
    for w in writers:
        w.close()
    await asyncio.wait_for(asyncio.gather(*(w.wait_closed() for w in writers),
                                          return_exceptions=True), 30)


def held_tls():
    """N TLS connections opened (each served one PING) and held, then closed, twice; the
    server's descriptors and RSS at the start (after a warm-up of 10 connections), at each
    peak, and after each close. Descriptors must come back to the start. RSS does not: the C
    allocator keeps the heap's high-water mark (flat over 10 rounds of 1000: not a leak), so the
    second round must end within 10% of the first, and the figure against the start is shown.
    The Lua heap after the last close is shown too: the loop collects the garbage of closed
    connections once it has been idle for a moment (ARCHITECTURE.md, "The event loop")."""
    n = scaled(10_000, 100)
    with Server(PING_SERVER, "--proto=tls") as srv:
        for _ in range(10):
            ask(srv.port, True)
        time.sleep(0.5)  # the warm-up's last close
        fds0, rss0 = srv.fds(), srv.rss()

        async def hold():
            ctx = client_ctx()
            sem = asyncio.Semaphore(200)
            writers = await asyncio.gather(*(open_tls(srv.port, ctx, sem) for _ in range(n)))
            peak = (srv.fds(), srv.rss())
            await close_all(writers)
            return peak
        rounds = []
        for _ in range(2):
            fds_peak, rss_peak = asyncio.run(hold())
            fds1 = settle(srv.fds, lambda v: v <= fds0)
            # What an idle server gives back comes after its worker threads end (1 s without
            # handshakes) and the idle collection that follows (250 ms): wait past both.
            time.sleep(2.5)
            rounds.append((fds_peak, rss_peak, fds1, srv.rss()))
        lua = int(ask(srv.port, True, b"MEM\r\n")[1:-2])
        srv.check_alive()
    (fp1, rp1, f1, r1), (fp2, rp2, f2, r2) = rounds
    fds_back = all(fp >= n and f <= fds0 for fp, _, f, _ in rounds)
    ok = fds_back and within(r1, r2, 0.10)
    return (f"{n} held, twice: fds {fds0} → {fp1} → {f1} → {fp2} → {f2}; RSS {kib(rss0)} → "
            f"{kib(rp1)} → {kib(r1)} → {kib(rp2)} → {kib(r2)} ({(r2 - r1) / r1 * 100:+.1f}% "
            f"over round 1, {(r2 - rss0) / rss0 * 100:+.0f}% over the start); Lua heap then "
            f"{kib(lua)}",
            "fds back to the start; RSS of round 2 within 10% of round 1", ok)


async def bad_peer(port, kind, hello, hold, sem):
    """A peer that stalls before the ClientHello (0), stalls half-way through it (1) or sends
    garbage and waits for the close (2). Stallers stay until `hold` is set."""
    async with sem:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
    try:
        if kind == 1:
            w.write(hello[: len(hello) // 2])
        elif kind == 2:
            w.write(random.randbytes(1024))
            await asyncio.wait_for(r.read(), 30)
            return
        await hold.wait()
    finally:
        w.close()


async def good_client(port, ctx, requests, lat):
    """One TLS connection made during the flood, then `requests` PINGs; returns the errors."""
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"), 30)
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        return requests
    done = 0
    try:
        for _ in range(requests):
            t0 = time.monotonic()
            w.write(b"PING\r\n")
            line = await asyncio.wait_for(r.readuntil(b"\r\n"), 30)
            if line != b"+PONG\r\n":
                break
            lat.append(time.monotonic() - t0)
            done += 1
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
        pass
    finally:
        w.close()
    return requests - done


def garbage_flood():
    """N bad peers (a third each: silent, half a ClientHello, 1 KiB of garbage) at once, while
    the good clients connect over TLS and send their PINGs; then the stallers leave. The good
    clients' errors and p99, and the log bytes the server wrote meanwhile."""
    bad = scaled(2000, 20)
    good = 50 if SCALE >= 0.1 else 10
    requests = scaled(200, 20)
    hello = client_hello()
    # A garbage peer whose bytes happen to start like a TLS record waits for the rest of it
    # until the handshake timeout: 10 s instead of the default 30 s.
    with Server(PING_SERVER, "--proto=tls", "--handshaketimeout=10000") as srv:
        log0 = srv.log_bytes()
        t0 = time.monotonic()

        async def run():
            hold = asyncio.Event()
            sem = asyncio.Semaphore(500)
            bads = [asyncio.create_task(bad_peer(srv.port, i % 3, hello, hold, sem))
                    for i in range(bad)]
            await asyncio.sleep(0.2)
            ctx = client_ctx()
            lat = []
            errors = await asyncio.gather(*(good_client(srv.port, ctx, requests, lat)
                                            for _ in range(good)))
            hold.set()
            await asyncio.wait_for(asyncio.gather(*bads, return_exceptions=True), 60)
            return sum(errors), lat
        errors, lat = asyncio.run(run())
        time.sleep(0.5)
        seconds = time.monotonic() - t0
        srv.check_alive()
        log = srv.log()[log0:]
        logged = srv.log_bytes() - log0
    lines = log.count("\n")
    p99 = statistics.quantiles(lat, n=100)[98] * 1000 if len(lat) >= 2 else float("nan")
    # Each second the flood touches may let through its share, plus one count.
    allowed = (PEER_LINES_PER_SEC + 1) * (int(seconds) + 2)
    ok = errors == 0 and len(lat) == good * requests and lines <= allowed
    return (f"{bad} bad peers, {good} good clients × {requests}: errors {errors}, "
            f"p99 {p99:.1f} ms; log {logged} bytes, {lines} lines in {seconds:.1f} s",
            f"0 errors; log ≤ {allowed} lines ({PEER_LINES_PER_SEC} + 1 a second)", ok)


def resets():
    """Peers that reset (RST) mid-handshake, mid-read (half a request) and mid-write (during
    a 16 MiB reply): the server serves on, its descriptors come back."""
    n = scaled(1000, 30)
    hello = client_hello()
    with Server(PING_SERVER, "--proto=tls") as srv:
        ask(srv.port, True)
        time.sleep(0.5)  # the first connection's close
        fds0 = srv.fds()

        def mid_handshake(_):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(hello[: len(hello) // 2])
            reset(s)

        def mid_read(_):
            s = connect(srv.port, True)
            s.sendall(b"*1\r\n$4\r\nPI")
            reset(s)

        def mid_write(_):
            s = connect(srv.port, True)
            s.sendall(b"BIG 16777216\r\n")
            got = 0
            while got < 65536:
                b = s.recv(65536)
                if not b:
                    raise SoakError("closed before the reply")
                got += len(b)
            reset(s)

        with ThreadPoolExecutor(8) as pool:
            for f in (mid_handshake, mid_read, mid_write):
                list(pool.map(f, range(n)))
        served = ask(srv.port, True) == b"+PONG\r\n"
        fds1 = settle(srv.fds, lambda v: v <= fds0)
        srv.check_alive()
    ok = served and fds1 <= fds0
    return (f"3 × {n} resets: fds {fds0} → {fds1}, served after: {'yes' if served else 'no'}",
            "serves on, fds back", ok)


def never_reads():
    """Peers that ask for 1 GiB each and never read: the server paces its writes with
    unsentbytes/flush (at most 1 MiB unsent per connection) and drops a peer that takes nothing
    for 2 s. Its RSS growth must stay within 2 MiB per peer + 16 MiB."""
    n = scaled(20, 2)
    with Server(PING_SERVER, "--proto=tls", "--flushtimeout=2000") as srv:
        ask(srv.port, True)
        rss0 = srv.rss()
        peers = []
        for _ in range(n):
            s = connect(srv.port, True)
            s.sendall(b"BIG 1073741824\r\n")
            peers.append(s)
        peak = rss0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            peak = max(peak, srv.rss())
            time.sleep(0.05)
        dropped = 0
        for s in peers:  # the kernel buffers drain, then the server's close shows
            s.settimeout(10)
            try:
                while s.recv(1 << 20):
                    pass
                dropped += 1
            except (OSError, ssl.SSLError):
                dropped += 1
            s.close()
        served = ask(srv.port, True) == b"+PONG\r\n"
        srv.check_alive()
    bound = n * 2048 + 16384
    ok = peak - rss0 <= bound and dropped == n and served
    return (f"{n} peers × 1 GiB asked: RSS +{kib(peak - rss0)} at most, dropped {dropped}/{n}",
            f"RSS growth ≤ {kib(bound)}", ok)


def emfile():
    """The server runs with RLIMIT_NOFILE 64. Connections are opened (each must answer a PING
    within 1 s) until one is not answered: accept is out of descriptors. Then 10 are closed:
    the waiting connection and a new one must be served (within 5 s)."""
    with Server(PING_SERVER, "--proto=tcp", nofile=64) as srv:
        conns, waiting = [], None
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"PING\r\n")
            s.settimeout(1)
            try:
                read_line(s)
                conns.append(s)
            except socket.timeout:
                waiting = s
                break
        if waiting is None:
            raise SoakError("200 connections served: the descriptor limit was never reached")
        for s in conns[:10]:
            s.close()
        waiting.settimeout(5)
        resumed = read_line(waiting) == b"+PONG\r\n"
        waiting.close()
        fresh = ask(srv.port, False, timeout=5) == b"+PONG\r\n"
        for s in conns[10:]:
            s.close()
        srv.check_alive()
        paused = srv.log().count("accept paused")
    ok = resumed and fresh
    return (f"limit hit after {len(conns)} connections; after 10 closed: waiting one served "
            f"{'yes' if resumed else 'no'}, new one served {'yes' if fresh else 'no'}; "
            f"{paused} log line(s)", "listener recovers", ok)


def reload():
    """The certificate swaps between the RSA and the ECDSA chain every 100 ms while 4 threads
    make verified TLS connections, one PING each, for N connections and at least 1 s. Every
    request must succeed, and both certificates must have been seen."""
    n = scaled(10_000, 100)
    with Server(PING_SERVER, "--proto=tls", "--reload=100") as srv:
        done, failed, seen = [0], [], set()
        lock = threading.Lock()
        t0 = time.monotonic()

        def worker():
            while True:
                with lock:
                    if done[0] >= n and time.monotonic() - t0 >= 1:
                        return
                    done[0] += 1
                try:
                    with connect(srv.port, True, verify=True) as s:
                        s.sendall(b"PING\r\n")
                        if read_line(s) != b"+PONG\r\n":
                            raise SoakError("bad reply")
                        cert = s.getpeercert(binary_form=True)
                    with lock:
                        seen.add(cert)
                except (OSError, ssl.SSLError, SoakError) as e:
                    with lock:
                        failed.append(repr(e))
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        seconds = time.monotonic() - t0
        srv.check_alive()
    ok = not failed and len(seen) == 2
    return (f"{done[0]} connections in {seconds:.1f} s (~{int(seconds * 10)} reloads): "
            f"{len(failed)} failed, {len(seen)} certificates seen"
            + (f" ({failed[0]})" if failed else ""), "0 failed", ok)


def handler_raises():
    """An HTTP handler that raises on every 10th request, N keep-alive requests from 4
    threads: every 10th is a 500, the rest 200, no connection error; RSS at 10% and at 100%."""
    n = scaled(100_000, 1000)
    with Server(HTTP_RAISE_SERVER) as srv:
        counts = {200: 0, 500: 0, "errors": 0}
        lock = threading.Lock()

        def worker(k):
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            for _ in range(k):
                try:
                    c.request("GET", "/")
                    r = c.getresponse()
                    r.read()
                    key = r.status if r.status in (200, 500) else "errors"
                except (OSError, http.client.HTTPException):
                    key = "errors"
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                with lock:
                    counts[key] += 1
            c.close()

        rss = []
        for part in (n // 10, n - n // 10):
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(worker, [part // 4] * 3 + [part - part // 4 * 3]))
            rss.append(srv.rss())
        srv.check_alive()
        logged = srv.log_bytes()
    ok = (counts["errors"] == 0 and counts[500] == n // 10 and counts[200] == n - n // 10
          and within(rss[0], rss[1], 0.10))
    return (f"{n} requests: {counts[200]} × 200, {counts[500]} × 500, {counts['errors']} errors; "
            f"RSS {kib(rss[0])} at 10% / {kib(rss[1])} at 100% "
            f"({(rss[1] - rss[0]) / rss[0] * 100:+.1f}%); log {logged} bytes",
            "every 10th a 500, 0 errors, RSS ±10%", ok)


CASES = [
    ("keepalive-tcp", "1M keep-alive TCP requests", lambda: keepalive(False)),
    ("keepalive-tls", "1M keep-alive TLS requests", lambda: keepalive(True)),
    ("held-tls", "10k TLS connections held, closed", held_tls),
    ("garbage", "garbage flood (2k bad, 50 good)", garbage_flood),
    ("resets", "resets mid-handshake/read/write", resets),
    ("never-reads", "peer that never reads", never_reads),
    ("emfile", "EMFILE (RLIMIT_NOFILE 64)", emfile),
    ("reload", "cert reload every 100 ms", reload),
    ("handler-raises", "handler raises every 10th", handler_raises),
]


def main():
    if not os.access(SILLY, os.X_OK):
        sys.exit(f"soak: {SILLY} not found; run cargo build --release first")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    only = [c for c in os.environ.get("SOAK_ONLY", "").split(",") if c]
    unknown = set(only) - {name for name, _, _ in CASES}
    if unknown:
        sys.exit(f"soak: unknown case(s) {', '.join(sorted(unknown))}")
    print(f"soak: SOAK_SCALE={SCALE} SILLY={os.path.relpath(SILLY, ROOT)}", flush=True)
    rows = []
    started = time.monotonic()
    for name, title, case in CASES:
        if only and name not in only:
            continue
        t0 = time.monotonic()
        try:
            figures, target, ok = case()
        except (SoakError, OSError, ssl.SSLError, subprocess.SubprocessError,
                asyncio.TimeoutError, ValueError) as e:
            figures, target, ok = f"failed: {e!r}"[:400], "-", False
        row = f"| {title} | {figures} | {target} | {'ok' if ok else 'MISSED'} |"
        rows.append((row, ok))
        print(f"  {name}: {time.monotonic() - t0:.1f} s  {row}", flush=True)
    print()
    print("| case | figures | target | result |")
    print("|---|---|---|---|")
    for row, _ in rows:
        print(row)
    print(f"\nsoak took {time.monotonic() - started:.1f} s")
    if not all(ok for _, ok in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()

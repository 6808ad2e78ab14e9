#!/usr/bin/env python3
"""Benchmark driver for silly: runs each benchmark against its peer, rounds interleaved, and
prints medians and ratios against the targets of the issue.

Run: make bench            (or: python3 scripts/bench.py, after cargo build --release)

Environment:
  BENCH_ONLY=a,b           run only these benchmarks (names: see BENCHES at the bottom)
  BENCH_ROUNDS=5           rounds per benchmark (each round runs every contender once, in order)
  BENCH_STARTUP_RUNS=100   process launches per contender per round in the start-up benchmark
  BENCH_STRICT=1           exit 1 when a target is missed (default: only report it)
  BENCH_WRITE=docs/benchmarks.md
                           also write the final table, with the date and the run's settings,
                           into that file, between the lines "<!-- bench:begin -->" and
                           "<!-- bench:end -->" (a relative path is taken from the repository)
  SILLY=path LUA=lua5.4    the binaries under test

Every throughput program measures its own wall time, after start-up, and prints one line
"BENCH <name> elapsed_ms=<float> [key=value ...]"; the driver reads elapsed_ms from it.

To add a benchmark, add one entry to BENCHES: a ProgramBench when each side is a program
printing a BENCH line, or a new Bench subclass whose sample() returns milliseconds for one
contender (e.g. start a server, run a load generator, parse its report).
"""

import datetime
import json
import os
import re
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SILLY = os.environ.get("SILLY", os.path.join(ROOT, "target", "release", "silly"))
# scripts/bench/ping_ceiling.c, built by scripts/bench.sh
CEILING = os.path.join(ROOT, "target", "ping_ceiling")
LUA = os.environ.get("LUA", "lua5.4")
RUN_TIMEOUT_S = 300


class BenchError(Exception):
    pass


class Bench:
    """One row of the final table: `contenders[0]` is silly, `contenders[1]` its peer.

    ratio is "speedup" (peer_time / silly_time, higher is better, target is a minimum) or
    "slowdown" (silly_time / peer_time, lower is better, target is a maximum).
    """

    unit = "ms"

    def __init__(self, name, title, contenders, ratio, target, cpu=None):
        self.name = name
        self.title = title
        self.contenders = contenders  # [(label, argv), ...]
        self.ratio = ratio
        self.target = target
        # (peer label, most): the server CPU time per request of silly over that contender's
        # (the srv_cpu_us/req its rounds report) must be at most `most`: the targets of the
        # issues are these ratios (the load generator shares the cores, so rates mislead).
        self.cpu = cpu

    def sample(self, label, argv):
        """Milliseconds for one run of one contender."""
        raise NotImplementedError

    def judge(self, silly_ms, peer_ms):
        if self.target is None:  # informational: a rate ratio, no target
            return silly_ms / peer_ms, True, "-"
        if self.ratio == "speedup":
            r = peer_ms / silly_ms
            return r, r >= self.target, f">= {self.target:.1f}x"
        if self.ratio == "higher":  # a rate: silly/peer, at least the target
            r = silly_ms / peer_ms
            return r, r >= self.target, f">= {self.target:.1f}x"
        # "slowdown" (a time) or "lower" (e.g. memory): silly/peer, at most the target
        r = silly_ms / peer_ms
        return r, r <= self.target, f"<= {self.target:.1f}x"


class ProgramBench(Bench):
    """Each contender is a program that prints "BENCH <name> elapsed_ms=... k=v ..."."""

    def __init__(self, *args, check=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check  # optional fn(fields) -> error string or None

    def sample(self, label, argv):
        p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S)
        fields = None
        for line in p.stdout.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "BENCH" and words[1] == self.name:
                fields = dict(w.split("=", 1) for w in words[2:] if "=" in w)
        if p.returncode != 0 or fields is None or "elapsed_ms" not in fields:
            raise BenchError(f"{shlex.join(argv)}: exit {p.returncode}, no BENCH line\n"
                             f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
        if self.check:
            err = self.check(fields)
            if err:
                raise BenchError(f"{shlex.join(argv)}: {err}")
        extra = " ".join(f"{k}={v}" for k, v in fields.items() if k != "elapsed_ms")
        return float(fields["elapsed_ms"]), extra


class StartupBench(Bench):
    """Process start-up to exit, timed by hyperfine (no shell); one sample = the median of
    `BENCH_STARTUP_RUNS` launches."""

    def sample(self, label, argv):
        runs = int(os.environ.get("BENCH_STARTUP_RUNS", "100"))
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = ["hyperfine", "-N", "--style", "none", "--warmup", "5", "--runs", str(runs),
                   "--export-json", out.name, shlex.join(argv)]
            p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT_S)
            if p.returncode != 0:
                raise BenchError(f"{shlex.join(cmd)}: exit {p.returncode}\n{p.stderr[-2000:]}")
            result = json.load(open(out.name))["results"][0]
        times = result["times"]
        return result["median"] * 1000, (f"runs={len(times)} min_ms={min(times) * 1000:.3f} "
                                         f"max_ms={max(times) * 1000:.3f}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    """preexec_fn: lift the open-files limit to its hard maximum (thousands of sockets)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


class ServerBench(Bench):
    """Each contender is a server started with "{port}" in its argv replaced by a free port;
    it prints "ready" when it listens ("ready pid=N" when the process to measure is another
    one, as with nginx). `measure(port, pid)` loads it and returns (value, extra); the server
    is killed afterwards. Values are in `unit`."""

    def __init__(self, *args, measure, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure
        self.unit = unit

    def sample(self, label, argv):
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv]
        # stderr goes to a file: a server logging per connection must never block on a pipe
        err = tempfile.TemporaryFile(mode="w+")
        srv = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=err,
                               text=True, preexec_fn=raise_nofile)
        try:
            line = srv.stdout.readline()
            if not line.startswith("ready"):
                srv.kill()
                srv.wait()
                err.seek(0)
                raise BenchError(f"{shlex.join(argv)}: did not start: {line!r} "
                                 f"{err.read()[-2000:]}")
            pid = int(line.split("pid=")[1]) if "pid=" in line else srv.pid
            value, extra = self.measure(port, pid)
            if srv.poll() is not None:
                raise BenchError(f"{shlex.join(argv)}: exited during the measurement")
            return value, extra
        finally:
            if srv.poll() is None:
                srv.kill()
            srv.wait()
            err.close()


def cpu_s(pid):
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def redis_benchmark(*args):
    """A measure: redis-benchmark -t ping with `args`; the value is the mean requests/s of
    PING_INLINE and PING_MBULK. Also reports the CPU time per request of the server and of
    redis-benchmark, and how busy redis-benchmark kept its core (cli_busy): near 100% means
    the load generator, not the server, sets the rate."""
    def measure(port, pid):
        cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "ping", "--csv",
               *args]
        srv0, cli0, t0 = cpu_s(pid), children_cpu_s(), time.monotonic()
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S)
        srv, cli, wall = cpu_s(pid) - srv0, children_cpu_s() - cli0, time.monotonic() - t0
        rps = {}
        for row in p.stdout.splitlines():
            cells = [c.strip('"') for c in row.split(",")]
            if len(cells) > 1 and cells[0].startswith("PING"):
                rps[cells[0]] = float(cells[1])
        if p.returncode != 0 or len(rps) != 2:
            raise BenchError(f"{shlex.join(cmd)}: exit {p.returncode}\n"
                             f"{p.stdout[-1000:]}{p.stderr[-1000:]}")
        n = 2 * int(args[args.index("-n") + 1])  # PING_INLINE and PING_MBULK
        cpu = (f"srv_cpu_us/req={srv / n * 1e6:.1f} cli_cpu_us/req={cli / n * 1e6:.1f} "
               f"cli_busy={cli / wall * 100:.0f}%")
        return (statistics.mean(rps.values()),
                " ".join(f"{k.lower()}={v:.0f}" for k, v in rps.items()) + " " + cpu)
    return measure


def redis_p99(*args):
    """A measure: redis-benchmark -t ping with `args` (many clients); the value is the p99
    latency in ms, the mean of PING_INLINE's and PING_MBULK's. Also reports their p50 and the
    requests/s."""
    def measure(port, pid):
        cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "ping", "--csv",
               *args]
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S, preexec_fn=raise_nofile)
        rows = {}
        for row in p.stdout.splitlines():
            cells = [c.strip('"') for c in row.split(",")]
            if len(cells) >= 7 and cells[0].startswith("PING"):
                rows[cells[0]] = (float(cells[1]), float(cells[4]), float(cells[6]))
        if p.returncode != 0 or len(rows) != 2:
            raise BenchError(f"{shlex.join(cmd)}: exit {p.returncode}\n"
                             f"{p.stdout[-1000:]}{p.stderr[-1000:]}")
        p99 = statistics.mean(r[2] for r in rows.values())
        return p99, " ".join(f"{k.lower()}: rps={r[0]:.0f} p50={r[1]:.2f}ms p99={r[2]:.2f}ms"
                             for k, r in rows.items())
    return measure


def h2load(*args, n=40000):
    """A measure: h2load over TLS (HTTP/2 by ALPN) with `args` for `n` requests; the value is
    requests/s. Also reports the server's CPU time per request and h2load's mean and maximum
    time per request (h2load prints no percentiles)."""
    def measure(port, pid):
        cmd = ["h2load", "-n", str(n), *args, f"https://127.0.0.1:{port}/"]
        srv0 = cpu_s(pid)
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S, preexec_fn=raise_nofile)
        srv = cpu_s(pid) - srv0
        done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded",
                         p.stdout)
        rate = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", p.stdout)
        times = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", p.stdout)
        if p.returncode != 0 or not done or not rate or int(done.group(1)) != n:
            raise BenchError(f"{shlex.join(cmd)}: exit {p.returncode}\n"
                             f"{p.stdout[-1500:]}{p.stderr[-500:]}")
        extra = f"srv_cpu_us/req={srv / n * 1e6:.2f}"
        if times:
            extra += f" mean={times.group(3)} max={times.group(2)}"
        return float(rate.group(1)), extra
    return measure


# Eight request fields as a browser sends them, for the "browser-like" HTTP row.
BROWSER_HEADERS = [
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language: en-US,en;q=0.5",
    "Accept-Encoding: gzip, deflate, br",
    "Connection: keep-alive",
    "Upgrade-Insecure-Requests: 1",
    "Sec-Fetch-Dest: document",
    "Cookie: session=4f2b8c1d9e7a6b5c3d2e1f0a; theme=dark",
]


def wrk(*args, tls=False, seconds=3, connections=50):
    """A measure: wrk with one thread (the load generator shares the 2 cores) and
    `connections` keep-alive connections for `seconds`; the value is requests/s. Also reports
    the server's CPU time per request, its p99 latency and how busy wrk kept its core."""
    def measure(port, pid):
        scheme = "https" if tls else "http"
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *args,
               f"{scheme}://127.0.0.1:{port}/"]
        srv0, cli0, t0 = cpu_s(pid), children_cpu_s(), time.monotonic()
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S)
        srv, cli, wall = cpu_s(pid) - srv0, children_cpu_s() - cli0, time.monotonic() - t0
        reqs = rps = p99 = None
        errors = 0
        for line in p.stdout.splitlines():
            words = line.split()
            if "requests in" in line:
                reqs = int(words[0])
            elif line.startswith("Requests/sec:"):
                rps = float(words[1])
            elif words[:1] == ["99%"]:
                p99 = words[1]
            elif "Non-2xx" in line or "Socket errors" in line:
                errors += 1
        if p.returncode != 0 or not reqs or rps is None or errors:
            raise BenchError(f"{shlex.join(cmd)}: exit {p.returncode}\n"
                             f"{p.stdout[-1500:]}{p.stderr[-500:]}")
        return rps, (f"srv_cpu_us/req={srv / reqs * 1e6:.2f} p99={p99} "
                     f"cli_busy={cli / wall * 100:.0f}%")
    return measure


def during_handshake_flood():
    """A measure: PING requests/s over 5 established TLS connections while 50 other clients
    open a new TLS connection per request (redis-benchmark -k 0). Shows whether handshakes
    stall the established connections; the 99th percentile latency goes in the extra."""
    def measure(port, pid):
        base = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--tls", "--insecure",
                "-t", "ping_mbulk"]
        flood = subprocess.Popen(base + ["-c", "50", "-k", "0", "-n", "1000000", "-q"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            p = subprocess.run(base + ["-c", "5", "-n", "20000", "--csv"], capture_output=True,
                               text=True, timeout=RUN_TIMEOUT_S)
        finally:
            flood.kill()
            flood.wait()
        rows = [[c.strip('"') for c in r.split(",")] for r in p.stdout.splitlines()]
        rows = [r for r in rows if r and r[0] == "PING_MBULK"]
        if p.returncode != 0 or not rows:
            raise BenchError(f"redis-benchmark during a handshake flood: exit {p.returncode}\n"
                             f"{p.stdout[-1000:]}{p.stderr[-1000:]}")
        r = rows[0]  # test, rps, avg, min, p50, p95, p99, max (ms)
        return float(r[1]), f"avg_ms={r[2]} p99_ms={r[6]} max_ms={r[7]}"
    return measure


# Opens `n` connections (TLS when argv[3] == "tls"), sends one PING on each and waits for its
# PONG so that the server has accepted and served it, then says "OPEN" and keeps them open
# until stdin closes. With argv[4] == "http" the request is an HTTP/1.1 GET; with "alpn" the
# TLS client offers h2 and http/1.1 and sends one GET in what the server picked (the HTTP/2
# frames are written by hand: preface, SETTINGS, one HEADERS; SETTINGS acknowledged).
IDLE_CLIENT = r"""
import resource, socket, ssl, struct, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, n, tls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "tls"
mode = sys.argv[4] if len(sys.argv) > 4 else "ping"
# An HTTP response ends with its body, or with the last chunk when nginx chunks it.
H1 = (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", (b"world\n", b"0\r\n\r\n"))
req, end = H1 if mode in ("http", "alpn") else (b"PING\r\n", (b"\r\n",))
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "alpn":
    ctx.set_alpn_protocols(["h2", "http/1.1"])

def frame(kind, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + payload

# GET / on stream 1: :method GET, :scheme https, :path / (static table), :authority x.
H2 = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0)
      + frame(1, 5, 1, b"\x82\x87\x84\x41\x01x"))

def h2_get(s):
    buf = b""
    s.sendall(H2)
    while True:
        b = s.recv(4096)
        if not b:
            return False
        buf += b
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            length, kind, flags = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7fffffff
            buf = buf[9 + length:]
            if kind == 4 and not flags & 1:
                s.sendall(frame(4, 1, 0))
            elif kind in (0, 1) and sid == 1 and flags & 1:
                return True

conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    if tls:
        s = ctx.wrap_socket(s)
    if mode == "alpn" and s.selected_alpn_protocol() == "h2":
        if not h2_get(s):
            raise SystemExit("closed after %d connections" % i)
        conns.append(s)
        continue
    s.sendall(req)
    got = b""
    while not got.endswith(end):
        b = s.recv(64)
        if not b:
            raise SystemExit("closed after %d connections" % i)
        got += b
    conns.append(s)
print("OPEN", len(conns), flush=True)
sys.stdin.read()
"""


def idle_memory(n, tls, mode="ping"):
    """A measure: the server's resident memory growth per connection, in KiB, with `n`
    connections open and idle (each served one PING, or one HTTP GET, first: IDLE_CLIENT's
    `mode`)."""
    def measure(port, pid):
        time.sleep(0.2)
        before = rss_kib(pid)
        cli = subprocess.Popen([sys.executable, "-c", IDLE_CLIENT, str(port), str(n),
                                "tls" if tls else "tcp", mode],
                               cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = cli.stdout.readline()
            if not line.startswith("OPEN"):
                raise BenchError(f"idle client failed: {line!r} {cli.stderr.read()[-2000:]}")
            time.sleep(0.5)  # let the server finish whatever the last PING started
            after = rss_kib(pid)
        finally:
            cli.stdin.close()
            cli.wait(timeout=60)
        return (after - before) / n, f"rss_before={before}KiB rss_after={after}KiB n={n}"
    return measure


# Sends `rounds` Redis ECHO commands carrying `size` random bytes over TLS, each one whole
# before reading its reply (the servers answer complete commands only), and prints MB/s
# (2 * size * rounds bytes moved, both directions counted) and the elapsed time.
BULK_CLIENT = r"""
import os, socket, ssl, sys, time
port, size, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60))
blob = os.urandom(size)
cmd = b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % size + blob + b"\r\n"
want = b"$%d\r\n" % size + blob + b"\r\n"
def roundtrip():
    s.sendall(cmd)
    got = bytearray()
    while len(got) < len(want):
        b = s.recv(1 << 20)
        if not b:
            raise SystemExit("closed")
        got += b
    if bytes(got) != want:
        raise SystemExit("echo differs")
roundtrip()  # warm-up
t = time.perf_counter()
for _ in range(rounds):
    roundtrip()
dt = time.perf_counter() - t
print("MBPS %.3f %.3f" % (2 * size * rounds / dt / 1e6, dt * 1000))
"""


def bulk_echo(size, rounds):
    def measure(port, pid):
        p = subprocess.run([sys.executable, "-c", BULK_CLIENT, str(port), str(size),
                            str(rounds)], cwd=ROOT, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S)
        words = p.stdout.split()
        if p.returncode != 0 or len(words) != 3 or words[0] != "MBPS":
            raise BenchError(f"bulk client: exit {p.returncode} {p.stdout[-500:]} "
                             f"{p.stderr[-2000:]}")
        return float(words[1]), f"elapsed_ms={float(words[2]):.0f} rounds={rounds}"
    return measure


def check_fired(expect):
    def check(fields):
        if fields.get("fired") != str(expect):
            return f"fired={fields.get('fired')}, expected {expect}"
        return None
    return check


def bench_script(name):
    return os.path.join("scripts", "bench", name)


BENCHES = [
    ProgramBench(
        "pingpong", "task ping-pong, 1M round trips",
        [("silly", [SILLY, bench_script("pingpong.lua")]),
         ("cqueues", [LUA, bench_script("pingpong_cqueues.lua")])],
        ratio="speedup", target=1.0),
    ProgramBench(
        "timers", "100k timers, 0..99 ms, half cancelled",
        [("silly", [SILLY, bench_script("timers.lua")]),
         ("cqueues", [LUA, bench_script("timers_cqueues.lua")])],
        ratio="speedup", target=1.0, check=check_fired(50000)),
    StartupBench(
        "startup", "start-up: -e ''",
        [("silly", [SILLY, "-e", ""]), ("lua5.4", [LUA, "-e", ""])],
        ratio="slowdown", target=3.0),
    # Redis-protocol PING servers over plain TCP (the lead's redis_ping_*.lua) and over TLS
    # (tls_ping_*.lua: rustls in silly, OpenSSL through luaossl in cqueues), both driven by
    # redis-benchmark. The TLS servers use the RSA-2048 chain from tests/fixtures/certs.
    ServerBench(
        "tcp_ping", "TCP PING, 50 clients, keep-alive",
        [("silly", [SILLY, bench_script("redis_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("redis_ping_cqueues.lua"), "{port}"]),
         ("c-epoll", [CEILING, "{port}"])],
        measure=redis_benchmark("-c", "50", "-n", "200000"), unit="req/s",
        ratio="higher", target=1.5, cpu=("c-epoll", 1.2)),
    ServerBench(
        "tcp_ping_p16", "TCP PING, 50 clients, pipeline 16",
        [("silly", [SILLY, bench_script("redis_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("redis_ping_cqueues.lua"), "{port}"]),
         ("c-epoll", [CEILING, "{port}"])],
        measure=redis_benchmark("-c", "50", "-P", "16", "-n", "400000"), unit="req/s",
        ratio="higher", target=1.5, cpu=("c-epoll", 1.6)),
    # Latency with many connections open: p99 of keep-alive PING from 1,000 clients.
    ServerBench(
        "tcp_p99_1k", "TCP PING p99 latency, 1,000 clients, keep-alive",
        [("silly", [SILLY, bench_script("redis_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("redis_ping_cqueues.lua"), "{port}"])],
        measure=redis_p99("-c", "1000", "-n", "200000"), unit="ms p99",
        ratio="lower", target=1.0),
    ServerBench(
        "tcp_idle_mem", "TCP: resident memory per idle connection, 10,000 open",
        [("silly", [SILLY, bench_script("redis_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("redis_ping_cqueues.lua"), "{port}"])],
        measure=idle_memory(10000, tls=False), unit="KiB/conn",
        ratio="lower", target=0.5),
    ServerBench(
        "tls_ping", "TLS PING, 50 clients, keep-alive",
        [("silly", [SILLY, bench_script("tls_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("tls_ping_cqueues.lua"), "{port}"])],
        measure=redis_benchmark("--tls", "--insecure", "-c", "50", "-n", "100000"),
        unit="req/s", ratio="higher", target=1.5, cpu=("cqueues", 0.6)),
    ServerBench(
        "tls_conn", "TLS new connections/s (-k 0: one handshake per PING), RSA-2048",
        [("silly", [SILLY, bench_script("tls_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("tls_ping_cqueues.lua"), "{port}"])],
        measure=redis_benchmark("--tls", "--insecure", "-c", "50", "-k", "0", "-n", "1000"),
        unit="conn/s", ratio="higher", target=2.0, cpu=("cqueues", 0.5)),
    ServerBench(
        "tls_flood", "TLS PING on 5 open connections during a -k 0 handshake flood",
        [("silly", [SILLY, bench_script("tls_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("tls_ping_cqueues.lua"), "{port}"])],
        measure=during_handshake_flood(), unit="req/s", ratio="higher", target=None),
    ServerBench(
        "tls_idle_mem", "TLS: resident memory per idle connection, 5,000 open",
        [("silly", [SILLY, bench_script("tls_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("tls_ping_cqueues.lua"), "{port}"])],
        measure=idle_memory(5000, tls=True), unit="KiB/conn",
        ratio="lower", target=0.5),
    ServerBench(
        "tls_bulk", "TLS bulk: 8 MiB ECHO round trips, one connection",
        [("silly", [SILLY, bench_script("tls_ping_silly.lua"), "--port={port}"]),
         ("cqueues", [LUA, bench_script("tls_ping_cqueues.lua"), "{port}"])],
        measure=bulk_echo(8 << 20, 32), unit="MB/s", ratio="higher", target=None),
]


# HTTP/1.1: silly.net.http against nginx + Lua (content_by_lua) and against the same handler
# written in Lua over silly.net.tcp; wrk drives them (scripts/bench/nginx_lua.py, http_*.lua).
def http_bench(name, title, measure, tls=False, lua_tcp=True, target=None, cpu=None):
    silly = [SILLY, bench_script("http_silly.lua"), "--port={port}"] + (["--tls=1"] if tls else [])
    nginx = [sys.executable, bench_script("nginx_lua.py"), "{port}"] + (["--tls"] if tls else [])
    contenders = [("silly", silly), ("nginx", nginx)]
    if lua_tcp:
        contenders.append(("lua-tcp", [SILLY, bench_script("http_lua_tcp.lua"), "--port={port}"]))
    return ServerBench(name, title, contenders, measure=measure, unit="req/s", ratio="higher",
                       target=target, cpu=("nginx", cpu) if cpu else None)


BENCHES += [
    http_bench("http_get", "HTTP GET, 50 connections, keep-alive", wrk(), cpu=1.0),
    http_bench("http_browser", "HTTP GET with 8 browser-like fields, 50 connections",
               wrk(*[a for h in BROWSER_HEADERS for a in ("-H", h)]), cpu=1.0),
    http_bench("http_p16", "HTTP GET, 50 connections, pipeline 16",
               wrk("-s", bench_script("wrk_pipeline.lua")), cpu=0.4),
    http_bench("https_get", "HTTPS GET, 50 connections, keep-alive", wrk(tls=True), tls=True,
               lua_tcp=False, cpu=0.9),
]
# HTTP/2 over TLS (ALPN h2), silly.net.http against nginx + Lua, driven by h2load.
for name, title, args in [
        ("h2_m32", "HTTP/2 GET over TLS, 4 connections x 32 streams", ("-c", "4", "-m", "32")),
        ("h2_c50", "HTTP/2 GET over TLS, 50 connections x 1 stream", ("-c", "50", "-m", "1"))]:
    BENCHES.append(ServerBench(
        name, title,
        [("silly", [SILLY, bench_script("http_silly.lua"), "--port={port}", "--tls=1"]),
         ("nginx", [sys.executable, bench_script("nginx_lua.py"), "{port}", "--tls", "--h2"])],
        measure=h2load(*args), unit="req/s", ratio="higher", target=None,
        cpu=("nginx", 1.0)))
# Memory of an idle keep-alive HTTP connection (one GET served), against nginx; the target
# of the issue compares it with the TCP row (tcp_idle_mem) of the same run.
BENCHES.append(ServerBench(
    "http_idle_mem", "HTTP: resident memory per idle keep-alive connection, 5,000 open",
    [("silly", [SILLY, bench_script("http_silly.lua"), "--port={port}"]),
     ("nginx", [sys.executable, bench_script("nginx_lua.py"), "{port}"])],
    measure=idle_memory(5000, tls=False, mode="http"), unit="KiB/conn", ratio="lower",
    target=None))
# Memory of an idle HTTP/2 connection over TLS (one GET served) against an idle HTTPS/1.1 one
# of the same server (ALPN limited to http/1.1): the target is at most 1.5 times.
BENCHES.append(ServerBench(
    "h2_idle_mem", "HTTP/2 vs HTTPS/1.1: resident memory per idle connection, 5,000 open",
    [("h2", [SILLY, bench_script("http_silly.lua"), "--port={port}", "--tls=1"]),
     ("https1", [SILLY, bench_script("http_silly.lua"), "--port={port}", "--tls=1",
                 "--alpn=http/1.1"])],
    measure=idle_memory(5000, tls=True, mode="alpn"), unit="KiB/conn", ratio="lower",
    target=1.5))


def select(benches):
    only = os.environ.get("BENCH_ONLY", "").strip()
    if not only:
        return benches
    names = [n.strip() for n in only.split(",") if n.strip()]
    known = {b.name: b for b in benches}
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"bench: unknown benchmark(s) {', '.join(unknown)}; "
                 f"known: {', '.join(known)}")
    return [known[n] for n in names]


def table_lines(rows, failed, rounds):
    """The final table as bench.py prints it: a heading line, the column names, one line per
    benchmark (`rows` from main), then one per failed benchmark."""
    lines = [f"Medians over {rounds} rounds (ratio: speed-up = peer/silly for run times, "
             "silly/peer for start-up, rates (req/s, conn/s, MB/s) and memory)"]
    header = ("benchmark", "silly", "peer", "peer median", "ratio", "target", "result")
    fmt = "{:<13} {:>20} {:<8} {:>20} {:>8} {:>8}  {}"
    lines.append(fmt.format(*header))
    for b, silly_label, silly_ms, peer_label, peer_ms, ratio, target, ok in rows:
        # a row whose first contender is not silly (the ceiling) names it
        who = "" if silly_label == "silly" else f" ({silly_label})"
        lines.append(fmt.format(b.name, f"{silly_ms:.3f} {b.unit}{who}", peer_label,
                                f"{peer_ms:.3f} {b.unit}",
                                f"{ratio:.2f}x", target, "ok" if ok else "MISSED"))
    for name in failed:
        lines.append(fmt.format(name, "-", "-", "-", "-", "-", "FAILED"))
    return lines


def cpu_table_lines(cpu_rows):
    """The server CPU time per request against the targets of the issues: one line per
    benchmark with a `cpu` target (`cpu_rows` from main); nothing when there is none."""
    if not cpu_rows:
        return []
    lines = ["", "Server CPU time per request (utime+stime from /proc, medians; ratio: "
             "silly/peer, at most the target)"]
    fmt = "{:<13} {:>14} {:<8} {:>14} {:>8} {:>8}  {}"
    lines.append(fmt.format("benchmark", "silly", "peer", "peer median", "ratio", "target",
                            "result"))
    for name, mine, peer, theirs, ratio, most in cpu_rows:
        lines.append(fmt.format(name, f"{mine:.2f} us", peer, f"{theirs:.2f} us",
                                f"{ratio:.2f}x", f"<= {most:.1f}x",
                                "ok" if ratio <= most else "MISSED"))
    return lines


BEGIN_MARK = "<!-- bench:begin -->"
END_MARK = "<!-- bench:end -->"


def silly_version():
    try:
        p = subprocess.run([SILLY, "-v"], capture_output=True, text=True, timeout=30)
        return p.stdout.strip() or "silly (version unknown)"
    except (OSError, subprocess.TimeoutExpired):
        return "silly (version unknown)"


def section_text(lines, rounds, when=None, version=None):
    """The text put between the markers: when and how the run was made, then the table."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    version = version or silly_version()
    only = os.environ.get("BENCH_ONLY", "").strip()
    what = f"benchmarks {only}" if only else "all benchmarks"
    return "\n".join([
        f"Run of {when:%Y-%m-%d %H:%M} UTC: {what}, BENCH_ROUNDS={rounds}, "
        f"{os.cpu_count()} CPUs, {version}.",
        "",
        "```text",
        *lines,
        "```",
    ])


def replace_section(text, section):
    """`text` with what lies between the markers replaced by `section`; ValueError when the
    markers are missing or out of order."""
    start = text.find(BEGIN_MARK)
    end = text.find(END_MARK, start + len(BEGIN_MARK)) if start >= 0 else -1
    if start < 0 or end < 0:
        raise ValueError(f"no {BEGIN_MARK} ... {END_MARK} section")
    return text[:start + len(BEGIN_MARK)] + "\n" + section + "\n" + text[end:]


def write_table(path, lines, rounds):
    """BENCH_WRITE: puts the table into the marked section of `path`."""
    if not os.path.isabs(path):
        path = os.path.join(ROOT, path)
    with open(path) as f:
        text = f.read()
    text = replace_section(text, section_text(lines, rounds))
    with open(path, "w") as f:
        f.write(text)
    print(f"bench: wrote the table to {os.path.relpath(path, ROOT)}")


def main():
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    if rounds < 1:
        sys.exit("bench: BENCH_ROUNDS must be at least 1")
    if not os.access(SILLY, os.X_OK):
        sys.exit(f"bench: {SILLY} not found; run cargo build --release first")
    benches = select(BENCHES)
    started = time.monotonic()
    rows, failed, cpu_rows = [], [], []
    for b in benches:
        print(f"== {b.name}: {b.title} ({rounds} rounds, interleaved)", flush=True)
        samples = {label: [] for label, _ in b.contenders}
        cpu = {label: [] for label, _ in b.contenders}
        try:
            for r in range(1, rounds + 1):
                for label, argv in b.contenders:
                    ms, extra = b.sample(label, argv)
                    samples[label].append(ms)
                    m = re.search(r"srv_cpu_us/req=([\d.]+)", extra)
                    if m:
                        cpu[label].append(float(m.group(1)))
                    print(f"  round {r} {label:8} {ms:12.3f} {b.unit}  {extra}", flush=True)
        except (BenchError, subprocess.TimeoutExpired, OSError) as e:
            print(f"  FAILED: {e}", flush=True)
            failed.append(b.name)
            continue
        # The ratio compares the first two contenders; a third (e.g. lua-tcp) is printed in
        # the rounds only.
        (silly_label, _), (peer_label, _) = b.contenders[:2]
        for label, _ in b.contenders[2:]:
            print(f"  median {label:8} {statistics.median(samples[label]):12.3f} {b.unit}",
                  flush=True)
        silly_ms = statistics.median(samples[silly_label])
        peer_ms = statistics.median(samples[peer_label])
        ratio, ok, target = b.judge(silly_ms, peer_ms)
        rows.append((b, silly_label, silly_ms, peer_label, peer_ms, ratio, target, ok))
        if b.cpu:
            peer, most = b.cpu
            if cpu[silly_label] and cpu[peer]:
                mine, theirs = statistics.median(cpu[silly_label]), statistics.median(cpu[peer])
                cpu_rows.append((b.name, mine, peer, theirs, mine / theirs, most))

    print()
    lines = table_lines(rows, failed, rounds) + cpu_table_lines(cpu_rows)
    for line in lines:
        print(line)
    missed = [b.name for b, *_, ok in rows if not ok]
    missed += [name for name, *_, ratio, most in cpu_rows if ratio > most]
    print(f"bench took {time.monotonic() - started:.1f} s")
    target_file = os.environ.get("BENCH_WRITE", "").strip()
    if target_file:
        try:
            write_table(target_file, lines, rounds)
        except (OSError, ValueError) as e:
            sys.exit(f"bench: cannot write the table to {target_file}: {e}")
    if failed:
        sys.exit(1)
    if missed and os.environ.get("BENCH_STRICT") == "1":
        sys.exit(1)


if __name__ == "__main__":
    main()

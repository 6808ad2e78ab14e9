#!/usr/bin/env python3
"""Benchmark driver for silly: runs each benchmark against its peer, rounds interleaved, and
prints medians and ratios against the targets of the issue.

Run: make bench            (or: python3 scripts/bench.py, after cargo build --release)

Environment:
  BENCH_ONLY=a,b           run only these benchmarks (names: see BENCHES at the bottom)
  BENCH_ROUNDS=5           rounds per benchmark (each round runs every contender once, in order)
  BENCH_STARTUP_RUNS=100   process launches per contender per round in the start-up benchmark
  BENCH_STRICT=1           exit 1 when a target is missed (default: only report it)
  SILLY=path LUA=lua5.4    the binaries under test

Every throughput program measures its own wall time, after start-up, and prints one line
"BENCH <name> elapsed_ms=<float> [key=value ...]"; the driver reads elapsed_ms from it.

To add a benchmark, add one entry to BENCHES: a ProgramBench when each side is a program
printing a BENCH line, or a new Bench subclass whose sample() returns milliseconds for one
contender (e.g. start a server, run a load generator, parse its report).
"""

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SILLY = os.environ.get("SILLY", os.path.join(ROOT, "target", "release", "silly"))
LUA = os.environ.get("LUA", "lua5.4")
RUN_TIMEOUT_S = 300


class BenchError(Exception):
    pass


class Bench:
    """One row of the final table: `contenders[0]` is silly, `contenders[1]` its peer.

    ratio is "speedup" (peer_time / silly_time, higher is better, target is a minimum) or
    "slowdown" (silly_time / peer_time, lower is better, target is a maximum).
    """

    def __init__(self, name, title, contenders, ratio, target):
        self.name = name
        self.title = title
        self.contenders = contenders  # [(label, argv), ...]
        self.ratio = ratio
        self.target = target

    def sample(self, label, argv):
        """Milliseconds for one run of one contender."""
        raise NotImplementedError

    def judge(self, silly_ms, peer_ms):
        if self.ratio == "speedup":
            r = peer_ms / silly_ms
            return r, r >= self.target, f">= {self.target:.1f}x"
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
]


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


def main():
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    if rounds < 1:
        sys.exit("bench: BENCH_ROUNDS must be at least 1")
    if not os.access(SILLY, os.X_OK):
        sys.exit(f"bench: {SILLY} not found; run cargo build --release first")
    benches = select(BENCHES)
    started = time.monotonic()
    rows, failed = [], []
    for b in benches:
        print(f"== {b.name}: {b.title} ({rounds} rounds, interleaved)", flush=True)
        samples = {label: [] for label, _ in b.contenders}
        try:
            for r in range(1, rounds + 1):
                for label, argv in b.contenders:
                    ms, extra = b.sample(label, argv)
                    samples[label].append(ms)
                    print(f"  round {r} {label:8} {ms:10.3f} ms  {extra}", flush=True)
        except (BenchError, subprocess.TimeoutExpired, OSError) as e:
            print(f"  FAILED: {e}", flush=True)
            failed.append(b.name)
            continue
        (silly_label, _), (peer_label, _) = b.contenders
        silly_ms = statistics.median(samples[silly_label])
        peer_ms = statistics.median(samples[peer_label])
        ratio, ok, target = b.judge(silly_ms, peer_ms)
        rows.append((b, silly_ms, peer_label, peer_ms, ratio, target, ok))

    print()
    print(f"Medians over {rounds} rounds (ratio: speed-up = peer/silly for throughput, "
          "silly/peer for start-up)")
    header = ("benchmark", "silly", "peer", "peer median", "ratio", "target", "result")
    fmt = "{:<10} {:>12} {:<8} {:>12} {:>8} {:>8}  {}"
    print(fmt.format(*header))
    missed = []
    for b, silly_ms, peer_label, peer_ms, ratio, target, ok in rows:
        if not ok:
            missed.append(b.name)
        print(fmt.format(b.name, f"{silly_ms:.3f} ms", peer_label, f"{peer_ms:.3f} ms",
                         f"{ratio:.2f}x", target, "ok" if ok else "MISSED"))
    for name in failed:
        print(fmt.format(name, "-", "-", "-", "-", "-", "FAILED"))
    print(f"bench took {time.monotonic() - started:.1f} s")
    if failed:
        sys.exit(1)
    if missed and os.environ.get("BENCH_STRICT") == "1":
        sys.exit(1)


if __name__ == "__main__":
    main()

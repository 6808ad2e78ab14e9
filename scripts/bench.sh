#!/usr/bin/env bash
# scripts/bench.sh: benchmarks silly against lua5.4 + cqueues (ping-pong, timers, start-up,
# Redis-protocol PING over TCP and TLS, TLS handshakes, idle memory, TLS bulk transfer).
# Run: make bench   (or, after cargo build --release: bash scripts/bench.sh)
# Select with BENCH_ONLY=pingpong,timers,startup and BENCH_ROUNDS=N; see scripts/bench.py.
# A whole run (no BENCH_ONLY, or BENCH_JSON=1) ends with JSON against lua-cjson (bench_json.sh).
# BENCH_WRITE=docs/benchmarks.md also writes the final table into that page.
# Installs the peers with apt-get when they are missing (Debian: lua5.4 lua-cqueues lua-luaossl
# hyperfine redis-tools wrk nghttp2-client nginx-light libnginx-mod-http-lua). nginx is never started as a
# service: scripts/bench/nginx_lua.py runs its own instance with its own config and prefix.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v lua5.4 >/dev/null || missing+=(lua5.4)
lua5.4 -e 'require "cqueues"' >/dev/null 2>&1 || missing+=(lua-cqueues)
lua5.4 -e 'require "openssl"' >/dev/null 2>&1 || missing+=(lua-luaossl)
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v nginx >/dev/null || missing+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ] || missing+=(libnginx-mod-http-lua)
if ((${#missing[@]})); then
	echo "bench: installing ${missing[*]}"
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	# Installed packages must not start system services (nginx): refuse them while installing.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
	fi
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi

[ -x "${SILLY:-target/release/silly}" ] || cargo build --release
# The ceiling server of the PING benchmarks (see its header); cc is there: cargo links with it.
mkdir -p target
cc -O2 -o target/ping_ceiling scripts/bench/ping_ceiling.c

start=$(date +%s%N)
status=0
python3 scripts/bench.py "$@" || status=$?
# JSON encode/decode against lua-cjson (scripts/bench_json.sh), in a whole run or when asked.
if [ -z "${BENCH_ONLY:-}" ] || [ -n "${BENCH_JSON:-}" ]; then
	bash scripts/bench_json.sh || status=$?
fi
echo "make bench: $(( ($(date +%s%N) - start) / 1000000 )) ms wall in total"
exit "$status"

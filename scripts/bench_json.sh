#!/usr/bin/env bash
# scripts/bench_json.sh: JSON encode and decode throughput of silly.encoding.json against
# lua-cjson (in lua5.4, the newest Lua Debian ships it for) on the same payload: a page of 100
# users (scripts/bench/json.lua). Rounds alternate silly and cjson; the medians are printed.
# Run: make bench-json   (BENCH_ROUNDS=N rounds, default 7; BENCH_SECONDS=S per measure, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v lua5.4 >/dev/null || missing+=(lua5.4)
lua5.4 -e 'require "cjson"' >/dev/null 2>&1 || missing+=(lua-cjson)
if ((${#missing[@]})); then
	echo "bench-json: installing ${missing[*]}"
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi

cargo build --release
silly=target/release/silly
rounds=${BENCH_ROUNDS:-7}
seconds=${BENCH_SECONDS:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lua5.4 scripts/bench/json.lua dump >"$tmp/payload.json"
echo "payload: $(wc -c <"$tmp/payload.json") bytes; $rounds rounds of ${seconds}s per measure"

for ((r = 1; r <= rounds; r++)); do
	"$silly" scripts/bench/json.lua "$tmp/payload.json" "$seconds" | tee -a "$tmp/results"
	lua5.4 scripts/bench/json.lua "$tmp/payload.json" "$seconds" | tee -a "$tmp/results"
done

median() { # median of the ops/s of "$1 $2"
	awk -v w="$1 $2" '$1 " " $2 == w { print $3 }' "$tmp/results" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
printf '%-8s %14s %14s %8s\n' op silly_ops/s cjson_ops/s ratio
for op in encode decode; do
	s=$(median silly "$op")
	c=$(median cjson "$op")
	printf '%-8s %14.0f %14.0f %7.2fx\n' "$op" "$s" "$c" "$(awk -v s="$s" -v c="$c" 'BEGIN { print s / c }')"
done

#!/usr/bin/env bash
# make fuzz: builds the fuzz targets of fuzz/ with cargo-afl and runs each with afl-fuzz for
# FUZZ_SECONDS (default 60), starting from its seed corpus (fuzz/corpus/<target>/); then prints
# execs/s, coverage and crashes per target. Every crash is minimised (afl-tmin) into
# fuzz/crashes/<target>/, where `make test` replays it (tests/it/fuzz_corpus.rs), and the
# run fails. FUZZ_TARGETS="read_buf http_head" runs only those. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
all="read_buf dns_message resolv_conf hosts tls_config http_head http_chunk websocket_frame http2"
targets=${FUZZ_TARGETS:-$all}
out=fuzz/out

# cargo-afl builds its own AFL++ (afl-fuzz, afl-tmin and the runtime) from the sources shipped
# in the crate when it is installed: no system afl++ is needed.
if ! cargo afl --version >/dev/null 2>&1; then
	cargo install --locked cargo-afl
fi
cargo afl config --build >/dev/null 2>&1 || true
(cd fuzz && cargo afl build --release)

# No crash handler check (core_pattern pipes to a handler here), no CPU frequency check and
# no core pinning (the cores are shared), plain log output instead of the UI.
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1

stat() { sed -n "s/^$2 *: *//p" "$1"; }

mkdir -p "$out"
rows=()
found=0
for t in $targets; do
	rm -rf "${out:?}/$t"
	echo "fuzz: $t for ${secs}s (log: $out/$t.log)"
	cargo afl fuzz -V "$secs" -i "fuzz/corpus/$t" -o "$out/$t" "fuzz/target/release/$t" \
		>"$out/$t.log" 2>&1 || { tail -20 "$out/$t.log"; exit 1; }
	s="$out/$t/default/fuzzer_stats"
	execs=$(stat "$s" execs_done)
	run=$(stat "$s" run_time)
	crashes=$(stat "$s" saved_crashes)
	rows+=("$(printf '%-16s %10s %10s %8s %12s %9s %8s' "$t" "$execs" \
		"$((execs / (run > 0 ? run : 1)))" "$(stat "$s" corpus_count)" \
		"$(stat "$s" edges_found)/$(stat "$s" total_edges)" "$(stat "$s" bitmap_cvg)" "$crashes")")
	for c in "$out/$t/default/crashes"/id:*; do
		[ -e "$c" ] || continue
		found=1
		mkdir -p "fuzz/crashes/$t"
		name=$(sha1sum "$c" | cut -c1-12)
		cargo afl tmin -i "$c" -o "fuzz/crashes/$t/crash-$name" -- "fuzz/target/release/$t" \
			>>"$out/$t.log" 2>&1 || cp "$c" "fuzz/crashes/$t/crash-$name"
		echo "fuzz: $t crashed: fuzz/crashes/$t/crash-$name"
	done
done

printf '\n%-16s %10s %10s %8s %12s %9s %8s\n' target execs execs/s corpus edges bitmap crashes
printf '%s\n' "${rows[@]}"
if [ "$found" = 1 ]; then
	echo "fuzz: crashes found: see fuzz/crashes/ (replay: cargo test --test it fuzz_corpus)"
	exit 1
fi

# silly: build, test, benchmark. `make test` is what CI runs (.ci/run).
CARGO ?= cargo
# `make install`: the one release binary (the stdlib is embedded), under $(DESTDIR)$(PREFIX)/bin.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin

.PHONY: all build release install uninstall demo test lint fmt bench bench-json bench-instr soak fuzz clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

install: release
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 target/release/silly $(DESTDIR)$(BINDIR)/silly

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/silly

# The main job of the README: build, then run the HTTPS example server with the shipped
# development certificate, talk to it with the HTTP client example, the TLS client example
# and curl when present, and stop the server.
demo: release
	./target/release/silly examples/hello.lua
	@./target/release/silly examples/http_server.lua --addr=127.0.0.1:8443 & pid=$$!; \
	sleep 0.5; status=0; \
	./target/release/silly examples/http_client.lua --addr=127.0.0.1:8443 || status=1; \
	./target/release/silly examples/https_client.lua --addr=127.0.0.1:8443 || status=1; \
	if command -v curl >/dev/null; then \
		echo "curl --cacert examples/certs/ca.crt https://localhost:8443/hello"; \
		curl -sS --cacert examples/certs/ca.crt https://localhost:8443/hello || status=1; \
	fi; \
	kill $$pid; exit $$status

# The whole test suite: every Rust test, which runs every Lua script in tests/lua.
test:
	$(CARGO) build --all-targets
	$(CARGO) test --all-targets -- --test-threads=2

# Every unsafe block says why it is sound; every unsafe fn has a "# Safety" section.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings -W clippy::undocumented_unsafe_blocks -W clippy::missing_safety_doc

fmt:
	$(CARGO) fmt

# Benchmarks against the peers named in the issues (installs them if missing).
bench: release
	bash scripts/bench.sh

# JSON encode/decode throughput against lua-cjson (installs lua5.4 and lua-cjson if missing).
bench-json:
	bash scripts/bench_json.sh

# The soak and fault suite (minutes; tests/it/soak_short.rs runs each case in short form in
# `make test`). SOAK_SCALE scales its counts, SOAK_ONLY picks cases (scripts/soak.py).
soak: release
	python3 scripts/soak.py

# User-space instructions per request of the HTTP and PING servers under callgrind: steady on
# a shared machine, where CPU time is not (scripts/instructions.py; installs valgrind).
bench-instr: release
	python3 scripts/instructions.py

# Coverage-guided fuzzing of every parser (fuzz/README.md): each target for FUZZ_SECONDS
# (default 60) with cargo-afl; crashes are saved under fuzz/crashes/, which `make test` replays.
fuzz:
	bash scripts/fuzz.sh

clean:
	$(CARGO) clean

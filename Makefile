# silly: build, test, benchmark. `make test` is what CI runs (.ci/run).
CARGO ?= cargo

.PHONY: all build release demo test lint fmt bench fuzz clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

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

# Coverage-guided fuzzing of every parser (fuzz/README.md): each target for FUZZ_SECONDS
# (default 60) with cargo-afl; crashes are saved under fuzz/crashes/, which `make test` replays.
fuzz:
	bash scripts/fuzz.sh

clean:
	$(CARGO) clean

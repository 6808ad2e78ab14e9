# silly: build, test, benchmark. `make test` is what CI runs (.ci/run).
CARGO ?= cargo

.PHONY: all build release demo test lint fmt bench clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# The main job of the README: build and run the demo.
demo: release
	./target/release/silly examples/hello.lua

# The whole test suite: every Rust test, which runs every Lua script in tests/lua.
test:
	$(CARGO) build --all-targets
	$(CARGO) test --all-targets -- --test-threads=2

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

# Benchmarks against the peers named in the issues (installs them if missing).
bench: release
	bash scripts/bench.sh

clean:
	$(CARGO) clean

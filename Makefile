# moat's two front-door commands (see README.md):
#
#   make serve   build moat and the example tools, then serve them over MCP on stdio
#   make test    install what the tests need, then run every test
#   make bench   release build, then moat against the native baseline (BENCHMARKS.md)
#
# Recipes print nothing on stdout: `make -s serve` can itself be an MCP server
# command, since stdout belongs to the protocol.

MOAT := target/debug/moat
PYTHON ?= python3

.PHONY: serve test examples host deps bench guest-toolchains

host:
	@cargo build --quiet -p moat >&2

examples: host guest-toolchains
	@MOAT=$(MOAT) guest-examples/build.sh
	@MOAT=$(MOAT) catalog/build.sh

# componentize-py (PyPI) and componentize-js (npm) for the Python and
# JavaScript examples; quick when they are already installed.
guest-toolchains:
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		-r guest-examples/python/requirements.txt >&2
	@cd guest-examples/js && npm ci --silent --no-audit --no-fund >&2

serve: examples
	@exec $(MOAT) serve --config guest-examples/moat.toml

deps: guest-toolchains
	@if command -v rustup >/dev/null; then rustup target add wasm32-wasip2 wasm32-unknown-unknown >&2; fi
	@for tool in docker-registry openssl curl haproxy buildah redis-server; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } >&2; fi
	@cd tests/sigstore-js && npm ci --silent --no-audit --no-fund >&2
	@cd tests/conformance && npm ci --silent --no-audit --no-fund >&2
	@cd tests/vet/servers && npm ci --silent --no-audit --no-fund >&2
	@cd tests/clients && npm ci --silent --no-audit --no-fund >&2
	@cd tests/originals && npm ci --silent --no-audit --no-fund >&2
	@command -v wkg >/dev/null || cargo install --quiet --locked wkg@0.16.1 >&2
	@command -v wit-bindgen >/dev/null || cargo install --quiet --locked wit-bindgen-cli@0.63.0 \
		--no-default-features --features go >&2
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		-r tests/python/requirements.txt >&2

test: deps
	cargo test --workspace

bench: guest-toolchains
	@cargo build --quiet --release -p moat -p moat-native-baseline -p moat-bench >&2
	@MOAT=target/release/moat guest-examples/build.sh
	@MOAT=target/release/moat catalog/build.sh
	@cd tests/originals && npm ci --silent --no-audit --no-fund >&2
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		-r tests/python/requirements.txt >&2
	target/release/moat-bench
	target/release/moat-bench --originals

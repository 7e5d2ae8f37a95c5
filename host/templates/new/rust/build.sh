#!/usr/bin/env bash
# Builds the tool into a WebAssembly component and packs its WIT documentation
# into it: dist/{{name}}.wasm.   MOAT=path/to/moat ./build.sh (default: moat on PATH)
{{target_note}}set -euo pipefail
cd "$(dirname "$0")"
moat=${MOAT:-moat}
if command -v rustup >/dev/null; then rustup target add {{target}} >/dev/null 2>&1 || true; fi
cargo build --quiet --target {{target}} --release{{cargo_config}}
mkdir -p dist
"$moat" --log warn pack "${CARGO_TARGET_DIR:-target}/{{target}}/release/{{crate}}.wasm" \
    --wit wit --output dist/{{name}}.wasm

#!/usr/bin/env bash
# Builds the tool into a WebAssembly component and packs its WIT documentation
# into it: dist/{{name}}.wasm.   MOAT=path/to/moat ./build.sh (default: moat on PATH)
set -euo pipefail
cd "$(dirname "$0")"
moat=${MOAT:-moat}
if command -v rustup >/dev/null; then rustup target add wasm32-wasip2 >/dev/null 2>&1 || true; fi
cargo build --quiet --target wasm32-wasip2 --release
mkdir -p dist
"$moat" --log warn pack "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{crate}}.wasm" \
    --wit wit --output dist/{{name}}.wasm

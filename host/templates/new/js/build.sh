#!/usr/bin/env bash
# Builds the tool into a WebAssembly component (a JavaScript engine inside) and
# packs its WIT documentation into it: dist/{{name}}.wasm.
#   MOAT=path/to/moat ./build.sh (default: moat on PATH)
set -euo pipefail
cd "$(dirname "$0")"
moat=${MOAT:-moat}
[ -d node_modules ] || npm install --no-audit --no-fund >&2
mkdir -p build dist
# No wasi:http: the tool makes no requests (remove `http` here if it must, and grant it).
node_modules/.bin/componentize-js app.js --wit wit --world-name {{name}} \
    --disable http fetch-event -o build/{{name}}.wasm >&2
"$moat" --log warn pack build/{{name}}.wasm --wit wit --output dist/{{name}}.wasm

#!/usr/bin/env bash
# Builds the tool into a WebAssembly component (CPython inside) and packs its
# WIT documentation into it: dist/{{name}}.wasm.
#   MOAT=path/to/moat ./build.sh (default: moat on PATH)
set -euo pipefail
cd "$(dirname "$0")"
moat=${MOAT:-moat}
command -v componentize-py >/dev/null || {
    echo "componentize-py is not installed: pip install -r requirements.txt" >&2; exit 1; }
mkdir -p build dist
componentize-py -d wit -w {{name}} componentize app -o build/{{name}}.wasm >&2
"$moat" --log warn pack build/{{name}}.wasm --wit wit --output dist/{{name}}.wasm

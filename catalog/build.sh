#!/usr/bin/env bash
# Builds the catalog's components and packs their WIT documentation into
# them with `moat pack`: catalog/dist/NAME.wasm.
#
#   MOAT=path/to/moat catalog/build.sh
#
# All progress goes to stderr, so this can run before `moat serve` on stdio.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
moat=${MOAT:?set MOAT to the moat binary}

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2 >&2
fi
cargo build --quiet --manifest-path "$here/Cargo.toml" --target-dir "$here/target" \
    --target wasm32-wasip2 --release >&2
mkdir -p "$here/dist" "$here/data/memory" "$here/data/files"   # what moat.toml grants
for wit in "$here"/*/wit; do
    dir=$(dirname "$wit")
    name=$(basename "$dir")
    "$moat" --log warn pack "$here/target/wasm32-wasip2/release/${name//-/_}.wasm" \
        --wit "$wit" --output "$here/dist/$name.wasm" 2>&1 | sed 's/^/  /' >&2
done

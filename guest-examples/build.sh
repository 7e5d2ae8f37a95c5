#!/usr/bin/env bash
# Builds every example tool into a WebAssembly component and packs its WIT
# documentation into it with `moat pack`: guest-examples/dist/NAME.wasm.
#   Rust        */       cargo, wasm32-wasip2 (and bench-bare: wasm32-unknown-unknown)
#   Python      python/* componentize-py (guest-examples/python/requirements.txt)
#   JavaScript  js/*     componentize-js (guest-examples/js/package.json)
# `make guest-toolchains` installs the Python and JavaScript toolchains.
#
#   MOAT=path/to/moat guest-examples/build.sh
#
# All progress goes to stderr, so this can run before `moat serve` on stdio.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
moat=${MOAT:?set MOAT to the moat binary}

# shellcheck source=guest-examples/rust-components.sh
source "$here/rust-components.sh"
build_rust_components "$here" "$moat"
mkdir -p "$here/dist/notes"   # dist/notes: the directory moat.toml grants to `notes`

# The benchmark's tools once more as a component that imports nothing (README,
# "A tool that imports nothing"): built for wasm32-unknown-unknown, whose std
# needs no WASI, and made a component by wasm-component-ld, the Rust
# toolchain's linker for wasm32-wasip2.
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown >&2
fi
cargo build --quiet --manifest-path "$here/Cargo.toml" --target-dir "$here/target" \
    --target wasm32-unknown-unknown --release --package bench \
    --config 'target.wasm32-unknown-unknown.linker = "wasm-component-ld"' >&2
"$moat" --log warn pack "$here/target/wasm32-unknown-unknown/release/bench.wasm" \
    --wit "$here/bench/wit" --output "$here/dist/bench-bare.wasm" 2>&1 | sed 's/^/  /' >&2

# Python and JavaScript: the interpreter is built into each component, so
# componentizing takes seconds; it is skipped while the output is newer than
# every source (the WIT of moat:host included).
fresh() {
    local output=$1 source=$2
    [ -f "$output" ] && [ -z "$(find "$source" "$here/../wit/host" -newer "$output" -print -quit)" ]
}
mkdir -p "$here/target/componentized"
for dir in "$here"/python/*/; do
    name=$(basename "$dir")
    out="$here/target/componentized/$name.wasm"
    if ! fresh "$out" "$dir"; then
        command -v componentize-py >/dev/null || {
            echo "componentize-py is not installed: run \`make guest-toolchains\`" >&2; exit 1; }
        (cd "$dir" && componentize-py -d wit -w "$name" componentize app -o "$out") 2>&1 | sed 's/^/  /' >&2
    fi
    "$moat" --log warn pack "$out" --wit "$dir/wit" --output "$here/dist/$name.wasm" 2>&1 | sed 's/^/  /' >&2
done
componentize_js="$here/js/node_modules/.bin/componentize-js"
for dir in "$here"/js/*/; do
    name=$(basename "$dir")
    [ "$name" = node_modules ] && continue
    out="$here/target/componentized/$name.wasm"
    if ! fresh "$out" "$dir"; then
        [ -x "$componentize_js" ] || {
            echo "componentize-js is not installed: run \`make guest-toolchains\`" >&2; exit 1; }
        # No wasi:http: these tools make no requests, so they do not import it.
        (cd "$dir" && "$componentize_js" app.js --wit wit --world-name "$name" \
            --disable http fetch-event -o "$out") 2>&1 | sed 's/^/  /' >&2
    fi
    "$moat" --log warn pack "$out" --wit "$dir/wit" --output "$here/dist/$name.wasm" 2>&1 | sed 's/^/  /' >&2
done

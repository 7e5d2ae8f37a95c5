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

# The same build and packing as the examples'.
# shellcheck source=guest-examples/rust-components.sh
source "$here/../guest-examples/rust-components.sh"
build_rust_components "$here" "$moat"
# gitoxide needs three of its crates patched for wasm32-wasip2 (gitoxide/patches).
"$here/gitoxide/patches/apply.sh"
build_rust_components "$here/gitoxide" "$moat" "$here/dist"
mkdir -p "$here/data/memory" "$here/data/files"   # what moat.toml grants

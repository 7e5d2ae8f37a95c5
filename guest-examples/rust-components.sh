# Shared by guest-examples/build.sh and catalog/build.sh (sourced, not run):
# builds the Rust workspace in directory $1 for wasm32-wasip2 and packs each
# member that has a wit/ folder into DIST/NAME.wasm with moat ($2), where
# DIST is $3 if given, else $1/dist.
# Progress goes to stderr.
build_rust_components() {
    local here=$1 moat=$2 dist=${3:-$1/dist} wit dir name
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
        rustup target add wasm32-wasip2 >&2
    fi
    # Its own target directory, whatever CARGO_TARGET_DIR says: the packing below reads from it.
    cargo build --quiet --manifest-path "$here/Cargo.toml" --target-dir "$here/target" \
        --target wasm32-wasip2 --release >&2
    mkdir -p "$dist"
    for wit in "$here"/*/wit; do
        dir=$(dirname "$wit")
        name=$(basename "$dir")
        "$moat" --log warn pack "$here/target/wasm32-wasip2/release/${name//-/_}.wasm" \
            --wit "$wit" --output "$dist/$name.wasm" 2>&1 | sed 's/^/  /' >&2
    done
}

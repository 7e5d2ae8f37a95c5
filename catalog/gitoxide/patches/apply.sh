#!/usr/bin/env bash
# Unpacks the crates that do not build for wasm32-wasip2 as
# published, from cargo's download cache, into target/patched/, and applies
# the diffs beside this script (README.md says what each changes and why).
# Idempotent: a crate already unpacked and patched is left alone.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/../target/patched"
cache="${CARGO_HOME:-$HOME/.cargo}/registry/cache"
mkdir -p "$out"
for diff in "$here"/*.patch; do
    crate=$(basename "$diff" .patch)
    [ -f "$out/$crate/.patched" ] && continue
    archive=$(find "$cache" -name "$crate.crate" -print -quit 2>/dev/null || true)
    if [ -z "$archive" ]; then
        # Not downloaded yet: a throwaway manifest that asks for it exactly.
        scratch=$(mktemp -d)
        name=${crate%-*}
        version=${crate##*-}
        printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[lib]\npath = "lib.rs"\n[dependencies]\n%s = "=%s"\n' \
            "$name" "$name" "$version" > "$scratch/Cargo.toml"
        touch "$scratch/lib.rs"
        cargo fetch --quiet --manifest-path "$scratch/Cargo.toml" >&2
        rm -rf "$scratch"
        archive=$(find "$cache" -name "$crate.crate" -print -quit)
    fi
    rm -rf "${out:?}/$crate"
    tar xzf "$archive" -C "$out"
    # git, which the checkout already needs, applies the diff (not `patch`,
    # which a fresh machine may lack); the ceiling keeps it from taking the
    # crate for a directory of this repository.
    (cd "$out/$crate" && GIT_CEILING_DIRECTORIES="$out" git apply -p1 "$diff")
    # Cargo caps a registry crate's lints; a path dependency's it shows.
    sed -i '1i #![allow(warnings)]' "$out/$crate/src/lib.rs"
    touch "$out/$crate/.patched"
done

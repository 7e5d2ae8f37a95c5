#!/usr/bin/env bash
# Builds the tool, calls it once through moat as a client would, checks its
# prompt is served, and vets it.
#   MOAT=path/to/moat ./test.sh     (default: `moat` on PATH)
set -euo pipefail
cd "$(dirname "$0")"
moat=${MOAT:-moat}
{{unit_tests}}./build.sh
out=$("$moat" --log warn call -c moat.toml {{name}}.greet '{"name": "Ada", "languages": 2}')
echo "$out"
grep -q '"Bonjour, Ada !"' <<<"$out" || { echo "FAIL: no French greeting in the result" >&2; exit 1; }
refused=$("$moat" --log warn call -c moat.toml {{name}}.greet '{"name": "Ada", "languages": 9}') && {
    echo "FAIL: 9 languages were accepted" >&2; exit 1; }
grep -q 'between 1 and 5' <<<"$refused" || { echo "FAIL: no error message for 9 languages" >&2; exit 1; }
inspected=$("$moat" --log warn inspect dist/{{name}}.wasm)
grep -q '{{name}}.greeting-card(name)' <<<"$inspected" || {
    echo "FAIL: greeting-card is not served as a prompt" >&2; exit 1; }
"$moat" --log warn vet dist/{{name}}.wasm
echo "ok: {{name}} builds, answers and vets clean"

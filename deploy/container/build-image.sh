#!/usr/bin/env bash
# Builds moat's container image with buildah (Debian's package) from
# scratch, so no base image is downloaded. The image holds:
#   - moat;
#   - the shared libraries it links, found with ldd on the building machine;
#   - the bundled example components, in /opt/moat/components.
# It runs as 65532:65532, with `moat` as its entry point, and needs nothing
# written but the directories the pod mounts (deploy/kubernetes/deployment.yaml).
#
#   deploy/container/build-image.sh [MOAT] [IMAGE]
#
# MOAT defaults to target/release/moat (build it first: `make bench` or
# `cargo build --release -p moat`), IMAGE to moat:VERSION. Settings from the
# environment:
#   STORAGE_DRIVER   buildah's storage driver (default vfs, which needs no
#                    kernel support)
#   IMAGE_STORE      a directory for buildah's storage, instead of its default
#   ARCHIVE          also write the image to this OCI archive (for
#                    `kind load image-archive` or `ctr images import`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
moat=${1:-target/release/moat}
version=$("$moat" --version | awk '{print $2}')
image=${2:-moat:$version}
[ -x "$moat" ] || { echo "build-image: no moat binary at $moat" >&2; exit 1; }
ls guest-examples/dist/*.wasm >/dev/null 2>&1 || { echo "build-image: no components in guest-examples/dist (run make examples)" >&2; exit 1; }

buildah=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")
if [ -n "${IMAGE_STORE:-}" ]; then
  buildah+=(--root "$IMAGE_STORE/root" --runroot "$IMAGE_STORE/run")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${container:-}" ] && "${buildah[@]}" rm "$container" >/dev/null 2>&1 || true' EXIT

# The binary without its debug sections (a tenth of its size); the
# executable stays position independent.
objcopy --strip-debug "$moat" "$work/moat"

container=$("${buildah[@]}" from scratch)
"${buildah[@]}" copy --chmod 0555 "$container" "$work/moat" /usr/local/bin/moat >/dev/null
# The dynamic loader and every library ldd names, at the paths it names.
for library in $(ldd "$moat" | grep -o '/[^ ]*'); do
  "${buildah[@]}" copy "$container" "$library" "$library" >/dev/null
done
for component in guest-examples/dist/*.wasm; do
  case $(basename "$component") in bench*) continue ;; esac
  "${buildah[@]}" copy --chmod 0444 "$container" "$component" /opt/moat/components/ >/dev/null
done
"${buildah[@]}" config \
  --user 65532:65532 \
  --workingdir / \
  --entrypoint '["/usr/local/bin/moat"]' \
  --cmd '["serve", "--config", "/etc/moat/moat.toml", "--http"]' \
  --port 8787 \
  --label org.opencontainers.image.title=moat \
  --label "org.opencontainers.image.version=$version" \
  "$container"
"${buildah[@]}" commit --quiet "$container" "$image" >/dev/null
if [ -n "${ARCHIVE:-}" ]; then
  "${buildah[@]}" push --quiet "$image" "oci-archive:$ARCHIVE:$image"
fi
echo "build-image: $image" >&2

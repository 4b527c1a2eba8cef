#!/usr/bin/env bash
# Kubernetes / image / monitoring checks: see docs/kubernetes.md "Checks".
# Needs Debian's prometheus package (.ci/apt-packages.txt) and, for the kustomize build, kubectl.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/main.js ]; then
  npm run build
fi
command -v promtool >/dev/null || { echo "promtool missing: apt-get install prometheus" >&2; exit 1; }
command -v kubectl >/dev/null || echo "warning: kubectl missing; the kustomize build check will be skipped" >&2
npm run test:deploy

#!/usr/bin/env bash
# Kubernetes, image and monitoring checks (`npm run test:deploy`): every manifest of k8s/ and of
# the applications of k8s/examples/ as `kubectl kustomize` renders them (the component included) against
# the Kubernetes and Prometheus Operator schemas, the alerts with promtool, the Dockerfile, a
# production install, the bill of materials' licence check. See docs/kubernetes.md "Checks".
# Needs Debian's prometheus package (.ci/apt-packages.txt) and kubectl >= 1.31 (kustomize >= 5.1, for the component).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/main.js ]; then
  npm run build
fi
command -v promtool >/dev/null || { echo "promtool missing: apt-get install prometheus" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "kubectl missing: the k8s/ checks render the kustomizations with it" >&2; exit 1; }
for dir in k8s k8s/examples/existing-app k8s/examples/app-on-8080; do
  kubectl kustomize "$dir" >/dev/null
done
npm run test:deploy

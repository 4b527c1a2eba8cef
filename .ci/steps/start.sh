#!/usr/bin/env bash
# `npm start` smoke (docs/contract.md "Running it"): from a clean dist/ it builds, serves with the defaults
# (only the ports moved off 8080/9464, which a developer machine may use), answers /healthz and
# /readyz, and exits 0 on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf dist
log=$(mktemp)
PORT=18080 ADMIN_PORT=19464 ADMIN_HOST=127.0.0.1 npm start >"$log" 2>&1 &
npm_pid=$!
ok=0
for _ in $(seq 1 60); do
  if curl -fsS http://127.0.0.1:19464/healthz >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.5
done
if [ "$ok" != 1 ]; then
  echo "npm start did not serve /healthz within 30 s:" >&2; cat "$log" >&2
  kill "$npm_pid" 2>/dev/null || true
  exit 1
fi
curl -fsS http://127.0.0.1:19464/readyz
echo
# Signal the sidecar itself, as Kubernetes would (in the image node is PID 1, not npm): the node
# process listening on the admin port, found by the port rather than by name.
node_pid=$(ss -Hltnp "sport = :19464" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
kill -TERM "$node_pid"
status=0
wait "$npm_pid" || status=$?
for _ in $(seq 1 40); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.25; done
if kill -0 "$node_pid" 2>/dev/null; then echo "sidecar still running 10 s after SIGTERM" >&2; kill -KILL "$node_pid"; exit 1; fi
grep -q '"msg":"stopped"' "$log" || { echo "no 'stopped' log line:" >&2; cat "$log" >&2; exit 1; }
echo "npm start: built, served /healthz, drained on SIGTERM (npm exit $status)"
[ "$status" = 0 ]

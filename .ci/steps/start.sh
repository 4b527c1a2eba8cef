#!/usr/bin/env bash
# `npm start` smoke (docs/contract.md "Running it"): from a clean dist/ it builds, serves with the defaults
# (only the ports moved off 8080/9464, which a developer machine may use), answers /healthz and
# /readyz, and on SIGTERM to npm itself (what a developer's Ctrl-C or a process manager does) the
# sidecar drains and exits, npm exits 0 and no node process is left behind. The start script
# `exec`s node, so npm's child is the sidecar and npm forwards the signal to it.
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
# The sidecar's pid, from its own log line, to check afterwards that it is gone.
node_pid=""
for _ in $(seq 1 20); do
  node_pid=$(grep -o '"pid":[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
  [ -n "$node_pid" ] && break
  sleep 0.25
done
if [ -z "$node_pid" ]; then
  echo "no pid in the sidecar's log:" >&2; cat "$log" >&2; kill "$npm_pid"; exit 1
fi
kill -TERM "$npm_pid"
status=0
wait "$npm_pid" || status=$?
if kill -0 "$node_pid" 2>/dev/null; then
  echo "sidecar (pid $node_pid) still running after npm exited" >&2; kill -KILL "$node_pid"; exit 1
fi
grep -q '"msg":"stopped"' "$log" || { echo "no 'stopped' log line:" >&2; cat "$log" >&2; exit 1; }
echo "npm start: built, served /healthz, drained on SIGTERM to npm (npm exit $status)"
[ "$status" = 0 ]

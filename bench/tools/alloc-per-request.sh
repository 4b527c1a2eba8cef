#!/usr/bin/env bash
# Bytes the V8 heap allocates per proxied request, and the sampled sites that allocate them.
#
#   bash bench/tools/alloc-per-request.sh [NODE] [MAIN] [seconds]
#   (defaults: the image's Node from .ci/node24.sh, dist/main.js, 5)
#
# Starts a tiny Node upstream (201 + 14 bytes) on CPU 1, the given build on CPU 0 with
# --trace-gc-nvp and a preload that runs V8's sampling heap profiler over the measured run (every
# allocation sampled, collected objects included), warms up with wrk for 2 s, then measures a wrk
# run of POST /provider. Allocated bytes are the sum of the "allocated=" fields of the GC trace over
# the measured run, divided by wrk's request count. Loopback only; every process it starts is
# stopped by PID.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
node="${1:-$(bash "$repo/.ci/node24.sh")}"
main="${2:-$repo/dist/main.js}"
seconds="${3:-5}"
# shellcheck source=per-request-setup.sh
source "$repo/bench/tools/per-request-setup.sh"
HEAP_PROFILE_OUT="$tmp/heap.json" UPSTREAM_URL="http://127.0.0.1:$up" PORT=$proxy ADMIN_PORT=$admin ADMIN_HOST=127.0.0.1 \
  taskset -c 0 "$node" --trace-gc-nvp --import "$repo/bench/tools/heap-sampling.mjs" "$main" >"$tmp/sidecar.out" 2>&1 & sidecar=$!; pids+=($sidecar)
for _ in $(seq 1 100); do curl -fsS -o /dev/null -d x "http://127.0.0.1:$proxy/provider" 2>/dev/null && break; sleep 0.1; done
taskset -c 1 wrk -t1 -c32 -d2s -s "$tmp/post.lua" "http://127.0.0.1:$proxy/provider" >/dev/null
allocated() { grep -o "allocated=[0-9]*" "$tmp/sidecar.out" | awk -F= '{s+=$2} END {print s+0}'; }
before=$(allocated)
kill -USR2 "$sidecar"   # start sampling
taskset -c 1 wrk -t1 -c32 -d"${seconds}s" -s "$tmp/post.lua" "http://127.0.0.1:$proxy/provider" >"$tmp/wrk.txt"
kill -USR2 "$sidecar"   # stop sampling, write the profile
# A large profile takes a few seconds to serialise: wait for it (at most 30 s).
for _ in $(seq 1 60); do [ -s "$tmp/heap.json" ] && break; sleep 0.5; done
sleep 0.5
after=$(allocated)
requests=$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")
echo "$(basename "$main") on $("$node" --version): $requests requests, $(( (after - before) / requests )) bytes allocated per request (GC trace)"
node "$repo/bench/tools/heap-sampling-summary.mjs" "$tmp/heap.json" "$requests"

#!/usr/bin/env bash
# What the young-generation GC costs per proxied request, with the image's flags: allocated and
# promoted bytes per request, scavenges and their pause per request, from V8's GC trace.
#
#   bash bench/tools/gc-per-request.sh MAIN [seconds] [K=V ...]
#   NODE_FLAGS=--no-allocation-site-pretenuring bash bench/tools/gc-per-request.sh dist/main.js 4
#   bash bench/tools/gc-per-request.sh bench/results/tmp/build/bench/peers/dispatch-forwarder.js
#     (the bare forwarder, once a `npm run bench` has compiled it: the same flags, for comparison)
#
# Starts the alloc tool's tiny upstream on CPU 1 and MAIN on CPU 0 under the image's Node with
# --max-semi-space-size=4, MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_=131072 (the K=V settings
# added), warms up for 2 s, then sums the "allocated=", "promoted=" and scavenge "pause=" fields of
# --trace-gc-nvp over a wrk run (32 connections) and divides by wrk's request count; CPU is the
# process's user + system time over the run. Outside any cgroup. Loopback only; every process it
# starts is stopped by PID. SURVIVORS=1 also samples, over the run, the allocations a minor GC did
# not free (heap-sampling.mjs), by site, in bytes per request (the sampler slows the run: its CPU
# and GC figures are then not comparable).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
node="$(bash "$repo/.ci/node24.sh")"
main="$1"; seconds="${2:-5}"; shift; [ $# -gt 0 ] && shift
# shellcheck source=per-request-setup.sh
source "$repo/bench/tools/per-request-setup.sh"
sampler=""
[ "${SURVIVORS:-}" = 1 ] && sampler="--import $repo/bench/tools/heap-sampling.mjs"
# shellcheck disable=SC2086
env "$@" HEAP_SAMPLING_SURVIVORS=1 HEAP_PROFILE_OUT="$tmp/heap.json" MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 UPSTREAM_URL="http://127.0.0.1:$up" PORT=$proxy \
  ADMIN_PORT=$admin ADMIN_HOST=127.0.0.1 \
  taskset -c 0 "$node" --max-semi-space-size=4 ${NODE_FLAGS:-} --trace-gc-nvp $sampler "$main" >"$tmp/out" 2>&1 & sidecar=$!
pids+=($sidecar)
for _ in $(seq 1 100); do curl -fsS -o /dev/null -d x "http://127.0.0.1:$proxy/provider" 2>/dev/null && break; sleep 0.1; done
taskset -c 1 wrk -t1 -c32 -d2s -s "$tmp/post.lua" "http://127.0.0.1:$proxy/provider" >/dev/null
skip=$(grep -c "pause=" "$tmp/out" || true)
[ -n "$sampler" ] && kill -USR2 "$sidecar" # start sampling
cpu0=$(awk '{print $14+$15}' "/proc/$sidecar/stat")
taskset -c 1 wrk -t1 -c32 -d"${seconds}s" -s "$tmp/post.lua" "http://127.0.0.1:$proxy/provider" >"$tmp/wrk.txt"
cpu1=$(awk '{print $14+$15}' "/proc/$sidecar/stat")
[ -n "$sampler" ] && kill -USR2 "$sidecar" # stop sampling, write the profile
requests=$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")
grep "pause=" "$tmp/out" | tail -n +$((skip + 1)) |
  awk -v r="$requests" -v ticks=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["gc"] == "s") { ns++; sp += f["pause"] } else { nm++; mp += f["pause"] }
    al += f["allocated"]; pr += f["promoted"] }
  END { printf "%d requests: CPU %.1f us/req; allocated %.0f B/req, promoted %.0f B/req; %d scavenges, %.2f us/req; %d other GCs, %.2f us/req\n",
        r, ticks * 1e6 / hz / r, al / r, pr / r, ns, sp * 1000 / r, nm, mp * 1000 / r }'
if [ -n "$sampler" ]; then
  for _ in $(seq 1 60); do [ -s "$tmp/heap.json" ] && break; sleep 0.5; done
  sleep 0.5
  node "$repo/bench/tools/heap-sampling-summary.mjs" "$tmp/heap.json" "$requests"
fi

#!/usr/bin/env bash
# Fleet check smoke: `npm run fleet -- --quick` (10 real sidecars, random-50 for 10 s and
# overload-drop on a timeline shrunk to 14 s, the four rows side by side; about a minute). It proves
# the harness still runs end to end and writes its files; CI does not judge the figures (a shared,
# noisy machine). Writes bench/results/tmp/fleet-quick/, never bench/results/fleet/.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/results/tmp/fleet-quick
rm -rf "$out"
timeout 120 npm run fleet -- --quick
for file in results.md results.json overload-drop-10pods.svg attempts-vs-failure-10pods.svg; do
  test -s "$out/$file" || { echo "fleet smoke: $out/$file is missing" >&2; exit 1; }
done

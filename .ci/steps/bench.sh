#!/usr/bin/env bash
# Bench smoke: the short version of `npm run bench` (a few seconds per row, one round, about a
# minute). It proves the harness still runs end to end; CI does not judge the figures (a shared,
# noisy machine). Writes bench/results/tmp/quick/, never docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
timeout 240 npm run bench -- --quick

#!/usr/bin/env bash
# Fleet check smoke: `npm run fleet -- --quick` (10 real sidecars, random-50 for 10 s and
# overload-drop on a timeline shrunk to 14 s, the four rows side by side; about a minute). It proves
# the harness still runs end to end and writes its files; CI does not judge the figures (a shared,
# noisy machine). Writes bench/results/tmp/fleet-quick/, never bench/results/fleet/. Then the row with
# a real HAProxy at billing's door (HAProxy comes from .ci/apt-packages.txt), on the same short
# timeline: its door starts and stops, and the sidecars count the attempts.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/results/tmp/fleet-quick
rm -rf "$out"
timeout 120 npm run fleet -- --quick
for file in results.md results.json overload-drop-10pods.svg attempts-vs-failure-10pods.svg; do
  test -s "$out/$file" || { echo "fleet smoke: $out/$file is missing" >&2; exit 1; }
done

door=bench/results/tmp/fleet-door
rm -rf "$door"
timeout 120 npm run fleet -- --scenario=overload-drop --variants=haproxy-sheds-breaker-30 --trigger-scale=0.2 --out="$door"
node -e '
  const { results } = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const row = results.find((r) => r.variant === "haproxy-sheds-breaker-30");
  if (!row || row.attemptsCountedBy !== "sidecars" || !(row.attemptsPerRequest > 0) || !(row.success > 0))
    { console.error("fleet smoke: the door row is missing or counted nothing", row); process.exit(1); }
' "$door/results.json"
if pgrep -f "fleet-logs/.*-haproxy.cfg" >/dev/null; then echo "fleet smoke: the door's HAProxy was left running" >&2; exit 1; fi

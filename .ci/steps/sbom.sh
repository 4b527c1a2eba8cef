#!/usr/bin/env bash
# Bill of materials and licences: writes the CycloneDX SBOM of the production dependencies from
# the lock file (no network) to sbom/retry-sidecar.cdx.json, then fails when one of them carries a
# licence outside sbom/allowed-licences.txt, or none (scripts/check-licences.mjs). The audit of
# known advisories is separate (soak.sh) and needs the registry's advisory service.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run --silent sbom

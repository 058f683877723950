#!/usr/bin/env bash
# Runs every test of the monorepo (unit, integration against real redis-server and service
# processes, browser tests in real Chromium, the pack test and the bundle-size check), after
# installing whatever is missing: pnpm, the packages, redis-server, Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_node
ensure_pnpm
ensure_redis
[ -n "${CHROMIUM_PATH:-}" ] || ensure_chromium
ensure_packages

log "building, linting and testing every package (turbo run build lint test)"
mkdir -p .tmp
status=0
pnpm run test 2>&1 | tee .tmp/test-output.log || status=$?
node scripts/test-summary.mjs .tmp/test-output.log
exit "$status"

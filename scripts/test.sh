#!/usr/bin/env bash
# Runs every test of the monorepo (unit, integration against real redis-server and service
# processes, browser tests in real Chromium, the pack test and the bundle-size check), after
# installing whatever is missing: pnpm, the packages, redis-server, the Python packages (redis-py,
# jsonschema, pytest, mypy, setuptools/wheel/pip/venv), promtool, Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_node
ensure_pnpm
ensure_redis
ensure_python_packages
ensure_promtool
[ -n "${CHROMIUM_PATH:-}" ] || ensure_chromium
ensure_packages

log "building, linting and testing every package (turbo run build lint test --continue)"
mkdir -p .tmp
rm -rf .turbo/runs
: >.tmp/test-output.log
failed_steps=()
# Formatting of the root's own files (each package lints itself in its turbo lint task).
pnpm run --silent format:root-check 2>&1 | tee -a .tmp/test-output.log || failed_steps+=(--failed-step "biome ci (root files)")
turbo_exit=0
pnpm run --silent test 2>&1 | tee -a .tmp/test-output.log || turbo_exit=$?
node scripts/test-summary.mjs --log .tmp/test-output.log --turbo-runs .turbo/runs \
  --floor scripts/test-floor.json \
  --turbo-exit "$turbo_exit" "${failed_steps[@]}"

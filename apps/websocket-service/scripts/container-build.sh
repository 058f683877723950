#!/bin/sh
# The service image's build steps, in one place: the Dockerfile runs them and
# test/integration/container-build.test.ts replays them (same commands, same order, from an
# empty pnpm store and cache), so the two cannot drift apart.
#
#   container-build.sh fetch       in a folder holding only pnpm-lock.yaml and pnpm-workspace.yaml:
#                                  downloads every locked package into the store
#   container-build.sh build OUT   in the whole build context, after fetch: installs from the
#                                  store, compiles the service and its workspace dependencies,
#                                  and writes the runnable service with production dependencies
#                                  only to OUT
#
# PNPM_STORE_DIR names the pnpm store (the Dockerfile mounts a build cache there).
set -eu

store="${PNPM_STORE_DIR:?PNPM_STORE_DIR must name the pnpm store folder}"

case "${1:-}" in
  fetch)
    pnpm fetch --store-dir "$store"
    ;;
  build)
    out="${2:?usage: container-build.sh build OUT}"
    pnpm install --frozen-lockfile --offline --store-dir "$store"
    pnpm --filter "@huleedu/websocket-service..." run build
    # pnpm 10 deploys workspace packages that are not injected only with --legacy, which
    # resolves their dependencies again and so needs registry metadata that neither `pnpm fetch`
    # nor an offline install writes: --prefer-offline, not --offline. The resolver keeps the
    # locked versions; the replay test checks every deployed version against pnpm-lock.yaml.
    pnpm --filter @huleedu/websocket-service deploy --prod --legacy --prefer-offline \
      --store-dir "$store" "$out"
    ;;
  *)
    echo "usage: container-build.sh fetch | build OUT" >&2
    exit 2
    ;;
esac

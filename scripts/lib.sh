# Shared by scripts/test.sh and scripts/start.sh: install what is missing, idempotently.
# shellcheck shell=bash

log() { printf '\033[1m[huleedu]\033[0m %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    return 1
  fi
  if [ "$apt_updated" = "0" ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null && apt_updated=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_node() {
  if ! command -v node >/dev/null 2>&1; then
    log "Node.js is required (20.19 or newer): https://nodejs.org/"
    exit 1
  fi
}

ensure_pnpm() {
  if ! command -v pnpm >/dev/null 2>&1; then
    log "installing pnpm 10 with npm (corepack is not used: its signature check fails on some machines)"
    npm install -g pnpm@10 >/dev/null 2>&1 || {
      log "could not install pnpm: run 'npm install -g pnpm@10' yourself"
      exit 1
    }
  fi
}

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1; then return 0; fi
  apt_install redis-server || {
    log "redis-server is missing: install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis)"
    exit 1
  }
}

# redis-py, for the test that runs packages/notify/examples/publish.py. Debian's python3-redis
# installs into /usr/bin/python3, which may not be the python3 first on PATH (pyenv).
ensure_python_redis() {
  local python
  for python in "${PYTHON:-}" /usr/bin/python3 python3; do
    if [ -n "$python" ] && "$python" -c 'import redis' >/dev/null 2>&1; then return 0; fi
  done
  apt_install python3-redis || {
    log "python3 with redis-py is missing: install it (Debian/Ubuntu: sudo apt-get install -y python3-redis; elsewhere: pip install redis), or point PYTHON at a python3 that has it"
    exit 1
  }
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  apt_install chromium || {
    log "Chromium is missing at /usr/bin/chromium: install it (Debian: sudo apt-get install -y chromium), or set CHROMIUM_PATH"
    exit 1
  }
}

ensure_packages() {
  if [ -n "${CI:-}" ]; then
    pnpm install --frozen-lockfile
  else
    pnpm install --prefer-offline
  fi
}

# setuptools and wheel for Debian's python3, which `pnpm release` (scripts/build-python.py) builds
# the Python package's sdist and wheel with, without the Python package index; and jsonschema,
# which the protocol README's Python example (run by packages/release-check) validates with.
ensure_python_build() {
  local python
  for python in "${PYTHON:-}" /usr/bin/python3 python3; do
    if [ -n "$python" ] && "$python" -c 'import setuptools, wheel, jsonschema' >/dev/null 2>&1; then return 0; fi
  done
  apt_install python3-setuptools python3-wheel python3-jsonschema || {
    log "python3 with setuptools, wheel and jsonschema is missing: install them (Debian/Ubuntu: sudo apt-get install -y python3-setuptools python3-wheel python3-jsonschema), or point PYTHON at a python3 that has them"
    exit 1
  }
}

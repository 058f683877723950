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

# The Python package (python/huleedu-notify) and its checks: redis-py, jsonschema, pytest and mypy
# for Debian's /usr/bin/python3 (a pyenv python3 first on PATH may lack them; PYTHON overrides),
# plus setuptools, wheel, pip and venv for the test that builds its wheel and installs it offline.
python_has_everything() {
  "$1" -c 'import redis, jsonschema, pytest, mypy, setuptools, wheel, pip, venv, ensurepip' >/dev/null 2>&1
}

ensure_python_packages() {
  local python
  for python in "${PYTHON:-}" /usr/bin/python3; do
    if [ -n "$python" ] && python_has_everything "$python"; then return 0; fi
  done
  apt_install python3-redis python3-jsonschema python3-pytest mypy python3-setuptools python3-wheel \
    python3-pip python3-venv || {
    log "python3 >= 3.11 with redis-py, jsonschema, pytest, mypy, setuptools, wheel, pip and venv is missing: install them (Debian/Ubuntu: sudo apt-get install -y python3-redis python3-jsonschema python3-pytest mypy python3-setuptools python3-wheel python3-pip python3-venv), or point PYTHON at a python3 that has them"
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

# promtool, for deploy/'s alert-rule checks (`promtool check rules`, `promtool test rules`).
# Debian's prometheus package ships it (with a Prometheus server that nothing here uses).
ensure_promtool() {
  if command -v promtool >/dev/null 2>&1; then return 0; fi
  apt_install prometheus || {
    log "promtool is missing: install it (Debian/Ubuntu: sudo apt-get install -y prometheus; elsewhere: a Prometheus release, which includes promtool)"
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


#!/usr/bin/env bash
# Starts the notification service with its dependencies for local development:
# a Redis it finds (WEBSOCKET_REDIS_URL) or starts locally, the websocket service and the demo page.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_node
ensure_pnpm
ensure_packages
pnpm run build >/dev/null

export WEBSOCKET_REDIS_URL="${WEBSOCKET_REDIS_URL:-redis://127.0.0.1:6379}"
export WEBSOCKET_SERVICE_PORT="${WEBSOCKET_SERVICE_PORT:-8080}"
export WEBSOCKET_SERVICE_HOST="${WEBSOCKET_SERVICE_HOST:-127.0.0.1}"
export DEMO_PORT="${DEMO_PORT:-3000}"
export WEBSOCKET_PUBLIC_URL="${WEBSOCKET_PUBLIC_URL:-ws://localhost:${WEBSOCKET_SERVICE_PORT}/ws}"
if [ -z "${JWT_SECRET_KEY:-}" ]; then
  export JWT_SECRET_KEY="local-dev-secret-change-me"
  log "JWT_SECRET_KEY not set: using a local development secret (never in production)"
fi

children=()
cleanup() {
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis_port="$(node -e 'const u=new URL(process.argv[1]);process.stdout.write(u.port||"6379")' "$WEBSOCKET_REDIS_URL")"
redis_host="$(node -e 'const u=new URL(process.argv[1]);process.stdout.write(u.hostname)' "$WEBSOCKET_REDIS_URL")"
if node -e 'const s=require("net").connect(+process.argv[2],process.argv[1]);s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1))' "$redis_host" "$redis_port"; then
  log "using the Redis already running at $WEBSOCKET_REDIS_URL"
elif command -v redis-server >/dev/null 2>&1; then
  log "starting redis-server on 127.0.0.1:$redis_port (no persistence)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
  children+=("$!")
else
  log "no Redis at $WEBSOCKET_REDIS_URL and redis-server is not installed."
  log "Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis),"
  log "or point WEBSOCKET_REDIS_URL at a running Redis, or use: docker compose -f docker-compose.services.yml up"
  exit 1
fi

node apps/websocket-service/dist/main.js &
children+=("$!")
node apps/demo/dist/server.js &
children+=("$!")
log "websocket service: ws://${WEBSOCKET_SERVICE_HOST}:${WEBSOCKET_SERVICE_PORT}/ws  (health: http://${WEBSOCKET_SERVICE_HOST}:${WEBSOCKET_SERVICE_PORT}/readyz)"
log "demo page:         http://127.0.0.1:${DEMO_PORT}/   (Ctrl-C stops everything)"
wait -n

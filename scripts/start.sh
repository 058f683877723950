#!/usr/bin/env bash
# Starts the notification service with its dependencies for local development:
# a Redis it finds (WEBSOCKET_REDIS_URL) or starts locally, the websocket service and the demo page.
# Installs what is missing the way scripts/test.sh does (pnpm, the packages, redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_node

export WEBSOCKET_REDIS_URL="${WEBSOCKET_REDIS_URL:-redis://127.0.0.1:6379}"
export WEBSOCKET_SERVICE_PORT="${WEBSOCKET_SERVICE_PORT:-8080}"
export WEBSOCKET_SERVICE_HOST="${WEBSOCKET_SERVICE_HOST:-127.0.0.1}"
export DEMO_PORT="${DEMO_PORT:-3000}"
export DEMO_HOST="${DEMO_HOST:-127.0.0.1}"
export WEBSOCKET_PUBLIC_URL="${WEBSOCKET_PUBLIC_URL:-ws://localhost:${WEBSOCKET_SERVICE_PORT}/ws}"

# Exits 0 when host:port can be bound now; prints the error code (EADDRINUSE, EACCES, ...) if not.
port_free() {
  node -e '
    const server = require("net").createServer();
    server.once("error", (error) => { process.stdout.write(error.code ?? String(error)); process.exit(1); });
    server.listen(+process.argv[2], process.argv[1], () => server.close(() => process.exit(0)));
  ' "$1" "$2"
}

# Refuses to start (before installing or building anything) when a port is taken, naming the
# variable that moves it.
require_port() { # <variable> <host> <port> <what>
  local problem
  if ! problem="$(port_free "$2" "$3")"; then
    log "cannot start the $4: $2:$3 is not available (${problem})."
    log "Stop whatever uses port $3, or choose another port: $1=<port> bash scripts/start.sh"
    exit 1
  fi
}
require_port WEBSOCKET_SERVICE_PORT "$WEBSOCKET_SERVICE_HOST" "$WEBSOCKET_SERVICE_PORT" "websocket service"
require_port DEMO_PORT "$DEMO_HOST" "$DEMO_PORT" "demo page"

ensure_pnpm
ensure_packages
pnpm run build >/dev/null

if [ -z "${JWT_SECRET_KEY:-}" ]; then
  export JWT_SECRET_KEY="huleedu-local-development-secret-0001"
  log "JWT_SECRET_KEY not set: using the development secret huleedu-local-development-secret-0001 (never in production)"
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
else
  if ! command -v redis-server >/dev/null 2>&1; then
    log "no Redis answers at $WEBSOCKET_REDIS_URL and redis-server is not installed: installing it"
    log "(or point WEBSOCKET_REDIS_URL at a running Redis, or use: docker compose -f docker-compose.services.yml up)"
  fi
  ensure_redis
  log "starting redis-server on 127.0.0.1:$redis_port (no persistence)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
  children+=("$!")
fi

# Waits until http://<host>:<port><path> answers, or fails if process <pid> exits first or 30 s pass.
wait_listening() { # <pid> <host> <port> <path> <variable> <what>
  local host="$2"
  [ "$host" = "0.0.0.0" ] && host=127.0.0.1
  for _ in $(seq 1 300); do
    if ! kill -0 "$1" 2>/dev/null; then
      log "the $6 exited before it listened on port $3 (see its log above)."
      log "If the port was taken meanwhile, choose another: $5=<port> bash scripts/start.sh"
      exit 1
    fi
    if node -e 'fetch(process.argv[1]).then(() => process.exit(0), () => process.exit(1))' \
      "http://${host}:$3$4" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "the $6 did not answer on port $3 within 30 s"
  exit 1
}

# The service's V8 flags (apps/websocket-service/src/v8-flags.ts), as its image and start script run it.
node --max-semi-space-size=4 apps/websocket-service/dist/main.js &
service_pid=$!
children+=("$service_pid")
node apps/demo/dist/server.js &
demo_pid=$!
children+=("$demo_pid")
wait_listening "$service_pid" "$WEBSOCKET_SERVICE_HOST" "$WEBSOCKET_SERVICE_PORT" /healthz WEBSOCKET_SERVICE_PORT "websocket service"
wait_listening "$demo_pid" "$DEMO_HOST" "$DEMO_PORT" /api/samples DEMO_PORT "demo page"
log "websocket service: ws://${WEBSOCKET_SERVICE_HOST}:${WEBSOCKET_SERVICE_PORT}/ws  (health: http://${WEBSOCKET_SERVICE_HOST}:${WEBSOCKET_SERVICE_PORT}/readyz)"
log "demo page:         http://${DEMO_HOST}:${DEMO_PORT}/   (Ctrl-C stops everything)"
wait -n

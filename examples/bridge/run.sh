#!/usr/bin/env bash
# Puts an existing HTTP server (examples/bridge/app.ts) behind zeroproxy without changing it:
#   app (127.0.0.1:3000)  <-- zeroproxy worker --forward  <-- zeroproxy router (:8080)  <-- curl
# Usage: examples/bridge/run.sh    then: curl -i http://127.0.0.1:8080/anything
# Ports/endpoints: APP_PORT (3000), HTTP_PORT (8080), BIND (tcp://127.0.0.1:5555). Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/../.."

APP_PORT="${APP_PORT:-3000}"
HTTP_PORT="${HTTP_PORT:-8080}"
BIND="${BIND:-tcp://127.0.0.1:5555}"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

APP_PORT="$APP_PORT" node --import tsx examples/bridge/app.ts &
pids+=($!)
# The order does not matter: the worker keeps saying HELLO until a router answers.
node bin/zeroproxy.js worker --connect "$BIND" --forward "http://127.0.0.1:${APP_PORT}" --id bridge-example &
pids+=($!)
node bin/zeroproxy.js router --http "127.0.0.1:${HTTP_PORT}" --bind "$BIND" &
pids+=($!)

echo "bridge example: curl -i http://127.0.0.1:${HTTP_PORT}/hello  (Ctrl-C to stop)" >&2
wait -n "${pids[@]}"

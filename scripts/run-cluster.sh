#!/usr/bin/env bash
# Runs one raftkv node per env file in this terminal, each line prefixed with
# the node's name; Ctrl-C (or any node exiting) stops them all.
set -uo pipefail
cd "$(dirname "$0")/.."
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup INT TERM EXIT
for env in "$@"; do
  name=$(sed -n 's/^NODE_ID=//p' "$env" | head -1)
  ( exec node --enable-source-maps dist/bin/raftkv-cli.js start --env "$env" 2>&1 | node scripts/pretty-log.mjs "$name" ) &
  pids+=($!)
done
wait -n

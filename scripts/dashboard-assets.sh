#!/usr/bin/env bash
# Installs the dashboard's browser libraries (pinned in control/Dashboard/assets/package-lock.json) and copies
# their dist files into control/wwwroot/lib, which the server serves under /assets/lib: the dashboard
# never loads code from a CDN. Idempotent; ./run.sh, ./test.sh and the Broadcast.Control build call it.
set -euo pipefail
cd "$(dirname "$0")/.."
src=control/Dashboard/assets
out=control/wwwroot/lib
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is required to install the dashboard's browser libraries (Debian: apt-get install npm)" >&2
  exit 1
fi
(cd "$src" && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p "$out"
cp "$src/node_modules/@microsoft/signalr/dist/browser/signalr.min.js" "$out/signalr.min.js"
cp "$src/node_modules/hls.js/dist/hls.min.js" "$out/hls.min.js"
cp "$src/node_modules/hls.js/dist/hls.worker.js" "$out/hls.worker.js"
cp "$src/node_modules/uplot/dist/uPlot.iife.min.js" "$out/uPlot.iife.min.js"
cp "$src/node_modules/uplot/dist/uPlot.min.css" "$out/uPlot.min.css"

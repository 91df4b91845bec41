#!/usr/bin/env bash
# Builds what the image ships: the dashboard's browser libraries (scripts/dashboard-assets.sh) and a self-contained
# Broadcast.Server for one runtime. infra/Dockerfile's build stage runs it, and ./test.sh runs it from a clean clone
# (infra/check-deploy.sh), so the image's build is the one CI proves.
#
# Usage: infra/build-server.sh RUNTIME OUTPUT_DIR
#   RUNTIME     a .NET RID (linux-x64, linux-arm64) or a Docker architecture (amd64, arm64: BuildKit's TARGETARCH)
#   OUTPUT_DIR  where the published server goes (created; the executable is OUTPUT_DIR/Broadcast.Server)
# The dashboard libraries come from npm when npm is on PATH. Without npm (the Dockerfile's SDK stage), they must
# already be in control/wwwroot/lib: the Dockerfile's node stage builds them with the same script and copies them in.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "build-server: $*" >&2; exit 1; }
(($# == 2)) || fail "usage: infra/build-server.sh RUNTIME OUTPUT_DIR (e.g. linux-x64 /app)"
case "$1" in
  amd64 | linux-x64) rid=linux-x64 ;;
  arm64 | linux-arm64) rid=linux-arm64 ;;
  *) fail "unsupported runtime '$1': use linux-x64 (amd64) or linux-arm64 (arm64)" ;;
esac
out=$2
command -v dotnet >/dev/null 2>&1 || fail "the .NET SDK (dotnet) is not on PATH; global.json names the version"

lib=control/wwwroot/lib
assets=(signalr.min.js hls.min.js hls.worker.js uPlot.iife.min.js uPlot.min.css)
if command -v npm >/dev/null 2>&1; then
  scripts/dashboard-assets.sh || fail "scripts/dashboard-assets.sh failed (npm ci in control/Dashboard/assets)"
fi
for f in "${assets[@]}"; do
  [[ -s "$lib/$f" ]] || fail "$lib/$f is missing: run scripts/dashboard-assets.sh (needs npm), or build with infra/Dockerfile, whose node stage makes it"
done

# Self-contained: the runtime image carries no .NET install. Release, like every other build of the server here.
dotnet publish server/Broadcast.Server.csproj -c Release -r "$rid" --self-contained true \
  -p:PublishSingleFile=false -nologo -v quiet -clp:ErrorsOnly -o "$out" \
  || fail "dotnet publish of server/Broadcast.Server.csproj for $rid failed"

[[ -x "$out/Broadcast.Server" ]] || fail "$out/Broadcast.Server was not produced"
for f in "${assets[@]}"; do
  [[ -s "$out/wwwroot/lib/$f" ]] || fail "$out/wwwroot/lib/$f is missing from the published server"
done
echo "build-server: Broadcast.Server for $rid in $out"

#!/usr/bin/env bash
# Runs Broadcast on one machine with embedded defaults: SQLite and segments under ./data.
# Installs ffmpeg when missing, builds, starts the server. Extra arguments are passed to the server,
# e.g. ./run.sh --Rtmp:Port=1936. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh ffmpeg npm
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download (dotnet not on PATH)" >&2
  exit 1
fi
# The dashboard's browser libraries (hls.js, SignalR, uPlot) from npm, served by the server itself.
scripts/dashboard-assets.sh
dotnet build server/Broadcast.Server.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
mkdir -p data
exec dotnet server/bin/Release/net10.0/Broadcast.Server.dll "$@"

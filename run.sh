#!/usr/bin/env bash
# Runs Broadcast on one machine with embedded defaults: SQLite and segments under ./data.
# Installs ffmpeg (and Janus) when missing, builds, starts the server. Extra arguments are passed to the server,
# e.g. ./run.sh --Rtmp:Port=1936. Ctrl-C stops it cleanly.
# ./run.sh --rtmps (or BROADCAST_RTMPS=1) adds RTMPS ingest on 1936, with a self-signed test certificate in
# ./data/tls unless Rtmps:CertificatePath is given (scripts/rtmps-setup.sh).
# SRT ingest listens on UDP 9710 unless Srt:Port is given (an argument or Srt__Port); libsrt comes with ffmpeg.
set -euo pipefail
cd "$(dirname "$0")"
rtmps=${BROADCAST_RTMPS:-0}
args=()
for a in "$@"; do if [[ $a == --rtmps ]]; then rtmps=1; else args+=("$a"); fi; done
# janus: the WebRTC engine behind real-time (WHEP) playback, started by the server on the first WHEP viewer.
# fonts-dejavu-core: the face ffmpeg's drawtext finds (through fontconfig) for a program's name cards.
scripts/deps.sh ffmpeg npm openssl janus fonts-dejavu-core
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download (dotnet not on PATH)" >&2
  exit 1
fi
# The dashboard's browser libraries (hls.js, SignalR, uPlot) from npm, served by the server itself.
scripts/dashboard-assets.sh
dotnet build server/Broadcast.Server.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
mkdir -p data
if [[ -z ${Srt__Port-} && " ${args[*]-} " != *"Srt:Port"* ]]; then args+=("--Srt:Port=9710"); fi
if [[ $rtmps == 1 ]]; then mapfile -t extra < <(scripts/rtmps-setup.sh "${args[@]}"); args+=("${extra[@]}"); fi
exec dotnet server/bin/Release/net10.0/Broadcast.Server.dll "${args[@]}"

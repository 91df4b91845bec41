#!/usr/bin/env bash
# Soak: N publishers that drop and reconnect at random plus M lightweight HLS clients against one server, for
# DURATION seconds, sampling the server's RSS and open descriptors. Checks: RSS growth after warm-up < 5 %, no fd
# growth, no gaps in media sequences except marked discontinuities or a new broadcast, failed fetches <= 0.5 %.
#
#   bench/soak.sh                               # N=10 publishers, M=100 clients, DURATION=1800 s
#   N=4 M=40 DURATION=300 WARMUP=60 WINDOW=60 bench/soak.sh --record   # --record appends a section to RESULTS.md
#
# The server runs in passthrough (--Transcode:Enabled=false): ten ABR ladders do not fit on two cores, and the soak
# is about ingest, packager, store and origin holding up over time. SERVER_ARGS='--Key=Value ...' adds switches.
# The driver is bench/soak (a .NET console); it starts the server (server/bin/Release) and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

RECORD=0
for arg in "$@"; do
  case "$arg" in
    --record) RECORD=1 ;;
    *) die "unknown argument $arg (only --record)" ;;
  esac
done

N=${N:-10} M=${M:-100} DURATION=${DURATION:-1800} WARMUP=${WARMUP:-120} WINDOW=${WINDOW:-120} SEED=${SEED:-7}
ONLINE=${ONLINE:-20:90} OFFLINE=${OFFLINE:-1:15}
scripts/deps.sh ffmpeg >/dev/null

if [[ "${BUILD:-1}" == 1 ]]; then
  log "building the server and the soak driver (Release)"
  dotnet build server -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
  dotnet build bench/soak -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
fi
export BROADCAST_SERVER_DLL=${BROADCAST_SERVER_DLL:-$PWD/server/bin/Release/net10.0/Broadcast.Server.dll}

args=(--publishers "$N" --clients "$M" --duration "$DURATION" --warmup "$WARMUP" --window "$WINDOW" --seed "$SEED"
  --online "$ONLINE" --offline "$OFFLINE")
for a in ${SERVER_ARGS:-}; do args+=(--server-arg "$a"); done
if ((RECORD)); then
  command="N=$N M=$M DURATION=$DURATION WARMUP=$WARMUP WINDOW=$WINDOW bench/soak.sh --record"
  [[ -n "${SERVER_ARGS:-}" ]] && command="SERVER_ARGS='$SERVER_ARGS' $command"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  args+=(--results bench/RESULTS.md --command "$command (commit $(git rev-parse --short HEAD), $(nproc) cores, load average $load)")
fi
log "soak: $N publishers, $M clients, $DURATION s"
exec dotnet bench/soak/bin/Release/net10.0/Broadcast.Soak.dll "${args[@]}"

#!/usr/bin/env bash
# Hostile RTMP clients at scale: memory before authentication. One real ffmpeg publisher streams a 720p clip while the
# attack driver (bench/hostile, a .NET console using the tests' HostileRtmpClient) runs every pattern against the
# same server for DURATION seconds: the reported chunk-stream attack (Set Chunk Size 8 MiB, then an 8 MiB message on
# each of chunk streams 3-63, no connect), huge declared lengths, interleaved partial messages on 61 chunk streams,
# aggregates before publish, extended timestamps with aborts, and message types RTMP does not allow before connect.
# Connections come from 127.0.0.2..127.0.0.(1+SOURCES) so the per-address limits are not what stops them.
# Reports the server's RSS (baseline, peak of the process tree, after the attack, VmHWM), what its accounting says
# (/metrics: bytes held, memory-budget closes), and whether the publisher stayed healthy: its source playlist kept
# advancing (no stall longer than STALL_SECONDS) and ffmpeg exited 0.
#
# Usage: bench/hostile.sh                  DURATION=60 CONCURRENCY=120 SOURCES=32 by default
#        DURATION=20 CONCURRENCY=30 bench/hostile.sh
#        BUILD=0 skips the dotnet builds; SERVER_ARGS='--Foo:Bar=1' adds server switches; KEEP_TMP=1 keeps logs;
#        NO_RESULTS=1 does not append to RESULTS.md.
set -euo pipefail
export LC_ALL=C
OTHER_DLL=${SERVER_DLL:-} # lib.sh sets a default: remember whether the command named another build
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-60}
CONCURRENCY=${CONCURRENCY:-120}
SOURCES=${SOURCES:-32}
MESSAGE_BYTES=${MESSAGE_BYTES:-8388608}
STALL_SECONDS=${STALL_SECONDS:-8}
((DURATION >= 5 && DURATION <= 600)) || die "DURATION must be 5..600 seconds"
((CONCURRENCY >= 1 && CONCURRENCY <= 1000)) || die "CONCURRENCY must be 1..1000"
((SOURCES >= 1 && SOURCES <= 200)) || die "SOURCES must be 1..200"
BENCH_COMMAND="$(dotnet_env)${OTHER_DLL:+SERVER_DLL=$OTHER_DLL BUILD=0 }DURATION=$DURATION CONCURRENCY=$CONCURRENCY SOURCES=$SOURCES MESSAGE_BYTES=$MESSAGE_BYTES${SERVER_ARGS+ SERVER_ARGS='$SERVER_ARGS'} bench/hostile.sh"
HOSTILE_DLL="$BENCH_DIR/hostile/bin/Release/net10.0/Broadcast.Hostile.dll"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl
bench_init
ensure_clip
server_build
tool_build bench/hostile "$HOSTILE_DLL" "attack driver"

SRV_DIR="$BENCH_TMP/ours"
server_start "$SRV_DIR"
read -r key slug < <(create_channel "hostile-$RANDOM")
PLAYLIST="$HTTP_BASE/live/$slug/source/index.m3u8"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# The number of the newest segment the playlist lists (…-N.m4s), or -1.
last_segment() {
  curl -fsS --max-time 2 "$PLAYLIST" 2>/dev/null | awk -F'[-.]' '/\.m4s/ && !/^#/ { n = $(NF - 1) } END { print (n == "" ? -1 : n) }'
}
metric() { curl -fsS --max-time 5 "$HTTP_BASE/metrics" 2>/dev/null | awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'; }

# The publisher: the cached clip looped for the whole run (warm-up + attack + the tail after it).
PUB_SECONDS=$((DURATION + 25))
log "publisher: ffmpeg -re for ${PUB_SECONDS}s"
timeout --kill-after=5 $((PUB_SECONDS + 30)) ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$CLIP" \
  -t "$PUB_SECONDS" -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$key" >"$BENCH_TMP/publisher.log" 2>&1 &
PUB_PID=$!
BENCH_PIDS+=("$PUB_PID")
playlist_started() { (($(last_segment) >= 1)); }
wait_until 30 playlist_started || die "the publisher's playlist did not appear ($(tail -3 "$BENCH_TMP/publisher.log"))"
sleep 3
BASELINE_KB=$(rss_kb "$SERVER_PID")

# Watch the playlist every second through the attack: the longest time it went without a new segment.
(
  last=-1 since=$SECONDS longest=0 first=""
  while kill -0 "$PUB_PID" 2>/dev/null; do
    n=$(last_segment)
    if ((n > last)); then
      ((last >= 0)) && ((SECONDS - since > longest)) && longest=$((SECONDS - since))
      [[ -z $first ]] && first=$n
      last=$n since=$SECONDS
    fi
    echo "$first $last $longest $((SECONDS - since))" >"$BENCH_TMP/playlist.state"
    sleep 1
  done
) &
WATCH_PID=$!
BENCH_PIDS+=("$WATCH_PID")

SAMPLES="$BENCH_TMP/server.samples"
sampler_start "$SERVER_PID" "$SAMPLES"
t0=$EPOCHREALTIME
log "attack: $CONCURRENCY connections at a time from $SOURCES addresses for ${DURATION}s"
dotnet "$HOSTILE_DLL" --port "$RTMP_PORT" --duration "$DURATION" --concurrency "$CONCURRENCY" --sources "$SOURCES" \
  --message-bytes "$MESSAGE_BYTES" --hold 5 >"$BENCH_TMP/attack.tsv" 2>"$BENCH_TMP/attack.log" || die "attack driver failed: $(tail -5 "$BENCH_TMP/attack.log")"
t1=$EPOCHREALTIME
sleep 5 # the server closes what is left; the publisher goes on
AFTER_KB=$(rss_kb "$SERVER_PID")
HELD=$(metric broadcast_rtmp_memory_held_bytes)
BUDGET_CLOSES=$(metric 'broadcast_rtmp_limit_hits_total{limit="memory_budget"}')
CONNECTIONS=$(metric broadcast_rtmp_connections)
GC_HEAP_MB=$(metric broadcast_gc_heap_bytes | awk '{ printf "%.0f", $1 / 1048576 }')
GC_COMMITTED_MB=$(metric broadcast_gc_committed_bytes | awk '{ printf "%.0f", $1 / 1048576 }')
sampler_stop
read -r _ PEAK_MB _ < <(sampler_report "$SAMPLES" "$t0" "$(date +%s.%N)")
HWM_MB=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")

rc=0
wait "$PUB_PID" || rc=$?
kill "$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
read -r first_seg last_seg longest_stall _ <"$BENCH_TMP/playlist.state"
kill -0 "$SERVER_PID" 2>/dev/null || log "the server process died during the run"
grep -q . "$BENCH_TMP/attack.log" && log "attack driver: $(tail -3 "$BENCH_TMP/attack.log" | tr '\n' ' ')"

advanced=$((last_seg - first_seg))
healthy=no
# Healthy: ffmpeg sent its whole clip, the playlist never went STALL_SECONDS without a new segment, and it advanced at
# least one 2 s segment per 2 s of the attack.
((rc == 0 && longest_stall <= STALL_SECONDS && advanced >= DURATION / 2)) && healthy=yes
growth=$(awk -v p="$PEAK_MB" -v b="$BASELINE_KB" 'BEGIN { printf "%.1f", p - b / 1024 }')

attack_rows=$(awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s / %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$BENCH_TMP/attack.tsv")
table="| pattern | connections | handshaken | closed by the server | close after, median / max (s) | MiB sent | driver errors |
|---|---|---|---|---|---|---|
$attack_rows

| server RSS | MB |
|---|---|
| baseline (publisher streaming) | $((BASELINE_KB / 1024)) |
| peak during the attack (process tree) | $PEAK_MB (growth $growth) |
| 5 s after the attack | $((AFTER_KB / 1024)) (managed heap after the last GC ${GC_HEAP_MB:-?}, GC committed ${GC_COMMITTED_MB:-?}) |
| VmHWM (since start) | $HWM_MB |

Server accounting 5 s after the attack: \`broadcast_rtmp_memory_held_bytes\` ${HELD:-?} with ${CONNECTIONS:-?} RTMP connection(s) open (the publisher's),
\`broadcast_rtmp_limit_hits_total{limit=\"memory_budget\"}\` ${BUDGET_CLOSES:-?}.
Publisher (1280x720 30 fps 2.5 Mb/s, \`ffmpeg -re -c copy\`, ${PUB_SECONDS}s): exit $rc; playlist advanced $advanced segments
(from $first_seg to $last_seg), longest stall ${longest_stall}s: **healthy: $healthy**.
$CONCURRENCY attack connections at a time (an equal share per pattern, each slot reconnecting as soon as its
connection ends) from $SOURCES addresses for ${DURATION}s, messages of $MESSAGE_BYTES bytes."
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "hostile: RTMP memory before authentication" "$table"
[[ $healthy == yes ]]

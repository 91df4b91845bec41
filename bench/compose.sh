#!/usr/bin/env bash
# Program compositing cost: two 1280x720p30 channels composed side by side (each fitted into its half, letterboxed) onto
# a 1280x720p30 canvas with their audio mixed and limited, H.264 (libx264 veryfast, zerolatency, 3000 kb/s, keyframe
# every 2 s) + AAC 128k — through Broadcast.Server's program engine and through one plain ffmpeg running the same filter
# graph on the same clip, both at real time, in one run on one machine.
#
# Ours: the server with transcoding off (neither side makes a ladder; bench/transcode.sh measures that) takes the two
# publishes (ffmpeg -re -c copy of the cached 720p clip); its CPU and its children's over WINDOW seconds without a program,
# then over WINDOW seconds with the program on: the program's cost is the difference (its two decoders, its encoder,
# the compositing in the server and the packaging of the program channel). Peer: ffmpeg -re reading the clip twice,
# fps + scale + pad + hstack, amix + alimiter, the same encoder settings, to /dev/null.
# Reports CPU-seconds per media-second of each, the ratio (issue #16's target: <= 1.05), the frames the program repeated
# because it was late (real time kept when 0) and plain ffmpeg's unpaced encode speed. Appends to bench/RESULTS.md.
#
#   bench/compose.sh              # 20 s windows
#   WINDOW=40 bench/compose.sh    # longer windows
#   BUILD=0 bench/compose.sh      # use the server already built
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BENCH_COMMAND="$(dotnet_env)WINDOW=${WINDOW:-20} bench/compose.sh"
WINDOW=${WINDOW:-20}
((WINDOW >= 5 && WINDOW <= 120)) || die "WINDOW must be 5..120 seconds"
bench_init
ensure_clip
server_build

GRAPH="[0:v]fps=30,scale=640:360:flags=bilinear,pad=640:720:0:180[l];[1:v]fps=30,scale=640:360:flags=bilinear,pad=640:720:0:180[r];[l][r]hstack=inputs=2[v];[0:a][1:a]amix=inputs=2:normalize=0,alimiter=limit=0.891[a]"
ENCODE=(-map "[v]" -map "[a]" -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0
  -fps_mode cfr -b:v 3000k -maxrate 3000k -bufsize 6000k -c:a aac -b:a 128k -ar 48000 -ac 2 -f flv -y /dev/null)

# ---- 1. plain ffmpeg: unpaced (its encode speed), then paced at real time (the like-for-like CPU peer).
log "plain ffmpeg, unpaced, ${WINDOW} s of media"
start=$EPOCHREALTIME
/usr/bin/time -f "%U %S" -o "$BENCH_TMP/fast.time" ffmpeg -nostdin -hide_banner -loglevel error \
  -stream_loop -1 -i "$CLIP" -stream_loop -1 -i "$CLIP" -t "$WINDOW" -filter_complex "$GRAPH" "${ENCODE[@]}"
SPEED=$(awk -v w="$WINDOW" -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", w / (b - a) }')
log "plain ffmpeg, paced (-re), ${WINDOW} s"
/usr/bin/time -f "%U %S" -o "$BENCH_TMP/paced.time" ffmpeg -nostdin -hide_banner -loglevel error \
  -re -stream_loop -1 -i "$CLIP" -re -stream_loop -1 -i "$CLIP" -t "$WINDOW" -filter_complex "$GRAPH" "${ENCODE[@]}"
PLAIN_CPU=$(awk '{ printf "%.2f", $1 + $2 }' "$BENCH_TMP/paced.time")

# ---- 2. our server: two publishes, a window without a program, then one with it.
SERVER_ARGS="--Transcode:Enabled=false --Program:Width=1280 --Program:Height=720" server_start "$BENCH_TMP/server"
read -r KEY_A SLUG_A < <(create_channel "compose a")
read -r KEY_B SLUG_B < <(create_channel "compose b")
PROGRAM_BODY=$(curl -fsS -X POST "$HTTP_BASE/api/channels" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"compose program"}') || die "POST /api/channels failed for the program"
PROGRAM_ID=$(json_field id <<<"$PROGRAM_BODY"); SLUG_P=$(json_field slug <<<"$PROGRAM_BODY")
for key in "$KEY_A" "$KEY_B"; do
  ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$CLIP" -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$key" &
  BENCH_PIDS+=("$!")
done
live() { curl -fsS "$HTTP_BASE/live/$1/master.m3u8" >/dev/null; }
wait_until 40 live "$SLUG_A" && wait_until 40 live "$SLUG_B" || die "the two channels did not go live"
sampler_start "$SERVER_PID" "$BENCH_TMP/samples"
sleep 3 # let both publishes settle before the first window
T0=$EPOCHREALTIME; sleep "$WINDOW"; T1=$EPOCHREALTIME
read -r BASE_CPU _ _ < <(sampler_report "$BENCH_TMP/samples" "$T0" "$T1")

program() { curl -fsS -X "$1" "$HTTP_BASE/api/channels/$PROGRAM_ID/program" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' ${2:+-d "$2"}; }
program PUT "{\"inputs\":[{\"id\":\"a\",\"channel\":\"$SLUG_A\"},{\"id\":\"b\",\"channel\":\"$SLUG_B\"}],\"layout\":{\"kind\":\"side-by-side\",\"inputs\":[{\"id\":\"a\"},{\"id\":\"b\"}]}}" >/dev/null
wait_until 40 live "$SLUG_P" || die "the program did not go live"
sleep 3 # its decoders and encoder started; the window measures the program running
late0=$(program GET | sed -n 's/.*"framesLate":\([0-9]*\).*/\1/p')
T2=$EPOCHREALTIME; sleep "$WINDOW"; T3=$EPOCHREALTIME
state=$(program GET)
late1=$(sed -n 's/.*"framesLate":\([0-9]*\).*/\1/p' <<<"$state")
sampler_stop
read -r WITH_CPU _ _ < <(sampler_report "$BENCH_TMP/samples" "$T2" "$T3")
OURS_CPU=$(awk -v a="$WITH_CPU" -v b="$BASE_CPU" -v t0="$T0" -v t1="$T1" -v t2="$T2" -v t3="$T3" \
  'BEGIN { printf "%.2f", a - b * (t3 - t2) / (t1 - t0) }')
LATE=$((late1 - late0))
RATIO=$(ratio "$OURS_CPU" "$PLAIN_CPU")

per_s() { awk -v c="$1" -v w="$WINDOW" 'BEGIN { printf "%.3f", c / w }'; }
TABLE="| side | CPU-s over ${WINDOW} s | CPU-s per media second |
|---|---|---|
| plain ffmpeg (same graph, -re) | $PLAIN_CPU | $(per_s "$PLAIN_CPU") |
| our program (server + children with it − without it) | $OURS_CPU | $(per_s "$OURS_CPU") |

Ratio ours / plain: **$RATIO** (target <= 1.05). Program frames repeated for lateness in the window: $LATE (0: real time kept).
Plain ffmpeg unpaced encode speed: ${SPEED}x. Server and children without the program: $BASE_CPU CPU-s (ingest and packaging of the two publishes)."
echo "$TABLE"
results_append "Program compositing: 2 x 720p30 side by side onto 720p30, ours vs plain ffmpeg" "$TABLE"

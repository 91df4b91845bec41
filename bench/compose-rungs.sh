#!/usr/bin/env bash
# A program with its ladder, in real time: a 1280x720p30 program of two 1280x720p30 inputs side by side, plus the program
# channel's 480p (1.2 Mb/s) and 360p (700 kb/s) rungs, libx264 veryfast, on this machine. Issue #16: "a 720p30 program of
# two 720p inputs plus its 480p and 360p rungs keeps real time on this 2-core machine with x264 veryfast (report encode
# speed and every rung's last segment)".
#
# The inputs are the cached 720p clip, twice, as library files the program pulls itself (source inputs, looped): they are
# no channels, so they get no ladder of their own and the machine does exactly the work the sentence names.
# Peer: one plain ffmpeg doing the same work (the clip decoded twice, the same graph, the program's encode at 3000 kb/s and
# the two rungs scaled from the composed picture), unpaced for its encode speed (>= 1.0x: this work fits in real time
# here) and paced (-re) for its CPU. Ours: Broadcast.Server with transcoding on (no shedding), over WINDOW seconds: the
# program's frames repeated for lateness (0: the compositor kept real time), the server's and its children's CPU, the
# transcoder's speed as the server reports it, and each rendition's newest segment at the end (all equal: every rung kept up).
# Appends to bench/RESULTS.md.
#
#   bench/compose-rungs.sh              # 30 s window
#   WINDOW=60 BUILD=0 bench/compose-rungs.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BENCH_COMMAND="$(dotnet_env)WINDOW=${WINDOW:-30} bench/compose-rungs.sh"
WINDOW=${WINDOW:-30}
((WINDOW >= 10 && WINDOW <= 120)) || die "WINDOW must be 10..120 seconds"
bench_init
ensure_clip
server_build

GRAPH="[0:v]fps=30,scale=640:360:flags=bilinear,pad=640:720:0:180[l];[1:v]fps=30,scale=640:360:flags=bilinear,pad=640:720:0:180[r];[l][r]hstack=inputs=2,split=3[p][s0][s1];[s0]scale=854:480[v0];[s1]scale=640:360[v1];[0:a][1:a]amix=inputs=2:normalize=0,alimiter=limit=0.891[a]"
X264=(-c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p -sc_threshold 0)
ENCODE=(-map "[p]" -map "[a]" "${X264[@]}" -tune zerolatency -g 60 -keyint_min 60 -fps_mode cfr -b:v 3000k -maxrate 3000k -bufsize 6000k
  -c:a aac -b:a 128k -ar 48000 -ac 2 -f flv -y /dev/null
  -map "[v0]" -an "${X264[@]}" -g 60 -keyint_min 60 -b:v 1200k -maxrate 1200k -bufsize 1200k -f flv -y /dev/null
  -map "[v1]" -an "${X264[@]}" -g 60 -keyint_min 60 -b:v 700k -maxrate 700k -bufsize 700k -f flv -y /dev/null)

# ---- 1. plain ffmpeg: unpaced (its encode speed), then paced at real time (its CPU). The window bounds each input (-t
# before -i): an output -t would bound only the first of the three outputs.
log "plain ffmpeg, unpaced, ${WINDOW} s of media"
start=$EPOCHREALTIME
/usr/bin/time -f "%U %S" -o "$BENCH_TMP/fast.time" ffmpeg -nostdin -hide_banner -loglevel error \
  -stream_loop -1 -t "$WINDOW" -i "$CLIP" -stream_loop -1 -t "$WINDOW" -i "$CLIP" -filter_complex "$GRAPH" "${ENCODE[@]}"
SPEED=$(awk -v w="$WINDOW" -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", w / (b - a) }')
log "plain ffmpeg, paced (-re), ${WINDOW} s"
/usr/bin/time -f "%U %S" -o "$BENCH_TMP/paced.time" ffmpeg -nostdin -hide_banner -loglevel error \
  -re -stream_loop -1 -t "$WINDOW" -i "$CLIP" -re -stream_loop -1 -t "$WINDOW" -i "$CLIP" -filter_complex "$GRAPH" "${ENCODE[@]}"
PLAIN_CPU=$(awk '{ printf "%.2f", $1 + $2 }' "$BENCH_TMP/paced.time")

# ---- 2. our server: the program of two library files, with the channel's ladder.
LIBRARY="$BENCH_TMP/library"
mkdir -p "$LIBRARY"
cp "$CLIP" "$LIBRARY/clip.flv"
SERVER_ARGS="--Transcode:ShedBelowSpeed=0 --Program:Width=1280 --Program:Height=720 --Pull:MediaRoot=$LIBRARY" server_start "$BENCH_TMP/server"
PROGRAM_BODY=$(curl -fsS -X POST "$HTTP_BASE/api/channels" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"compose rungs"}') || die "POST /api/channels failed for the program"
PROGRAM_ID=$(json_field id <<<"$PROGRAM_BODY"); SLUG=$(json_field slug <<<"$PROGRAM_BODY")
program() { curl -fsS -X "$1" "$HTTP_BASE/api/channels/$PROGRAM_ID/program" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' ${2:+-d "$2"}; }
SOURCE='{"url":"file:clip.flv","loop":true}'
program PUT "{\"inputs\":[{\"id\":\"a\",\"source\":$SOURCE},{\"id\":\"b\",\"source\":$SOURCE}],\"layout\":{\"kind\":\"side-by-side\",\"inputs\":[{\"id\":\"a\"},{\"id\":\"b\"}]}}" >/dev/null
rungs() { curl -fsS "$HTTP_BASE/live/$SLUG/master.m3u8" | grep -q '480p/index.m3u8' && curl -fsS "$HTTP_BASE/live/$SLUG/master.m3u8" | grep -q '360p/index.m3u8'; }
wait_until 60 rungs || { tail -20 "$BENCH_TMP/server/server.log" >&2; die "the program's ladder (480p, 360p) did not appear"; }
sampler_start "$SERVER_PID" "$BENCH_TMP/samples"
sleep 5 # the ladder's ffmpeg started; the window measures the program and its rungs running
late0=$(program GET | sed -n 's/.*"framesLate":\([0-9]*\).*/\1/p')
T0=$EPOCHREALTIME; sleep "$WINDOW"; T1=$EPOCHREALTIME
state=$(program GET)
late1=$(sed -n 's/.*"framesLate":\([0-9]*\).*/\1/p' <<<"$state")
lag=$(sed -n 's/.*"encoderLagMilliseconds":\([0-9]*\).*/\1/p' <<<"$state")
last() { curl -sf "$HTTP_BASE/live/$SLUG/$1/index.m3u8" | grep '\.m4s$' | tail -1 | sed 's/.*-\([0-9]*\)\.m4s/\1/' || true; }
SRC_LAST=$(last source); R480_LAST=$(last 480p); R360_LAST=$(last 360p)
channel=$(curl -fsS "$HTTP_BASE/api/channels/$PROGRAM_ID" -H "Authorization: Bearer $ADMIN_TOKEN")
TSPEED=$(sed -n 's/.*"transcodeSpeed":\([0-9.]*\).*/\1/p' <<<"$channel" | head -1)
sampler_stop
read -r OURS_CPU _ _ < <(sampler_report "$BENCH_TMP/samples" "$T0" "$T1")
LATE=$((late1 - late0))
per_s() { awk -v c="$1" -v w="$WINDOW" 'BEGIN { printf "%.3f", c / w }'; }
KEPT=$([[ -n "$SRC_LAST" && "$SRC_LAST" == "$R480_LAST" && "$SRC_LAST" == "$R360_LAST" && "$LATE" == 0 ]] && echo yes || echo no)

TABLE="| side | CPU-s over ${WINDOW} s | CPU-s per media second |
|---|---|---|
| plain ffmpeg (same graph + the two rungs, -re) | $PLAIN_CPU | $(per_s "$PLAIN_CPU") |
| our server (program of two library files + its ladder; all of the server and its children) | $OURS_CPU | $(per_s "$OURS_CPU") |

Plain ffmpeg unpaced encode speed (program + 480p + 360p): **${SPEED}x** (>= 1.0x: the work fits in real time on this machine).
Ours: program frames repeated for lateness in the window **$LATE**; encoder lag ${lag:-?} ms; transcoder speed ${TSPEED:-not reported};
newest segments at the end: source $SRC_LAST, 480p $R480_LAST, 360p $R360_LAST. Real time kept (no late frames, every rung at the source's segment): **$KEPT**."
echo "$TABLE"
results_append "Program with its ladder: 2 x 720p30 library files side by side onto 720p30, plus 480p and 360p rungs" "$TABLE"

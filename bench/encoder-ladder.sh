#!/usr/bin/env bash
# The encoder's own ladder vs the same ladder transcoded by the server: what the server's CPU saves when the encoder sends
# its rungs itself. One ladder is encoded once (bench/multitrack, the tests' encoder: 1920x1080 4500k, 1280x720 2500k,
# 640x360 800k H.264, keyframes aligned every 2 s, AAC with the 1080p rendition), then, in alternating rounds, each on a
# fresh server with its ladder on:
#   (a) the encoder's ladder: the three renditions as one Enhanced RTMP v2 multitrack publish (bench/multitrack, the tests'
#       TestOnlyMultitrackRtmpSender), packaged as source, track1, track2; no ffmpeg may start;
#   (b) the same rungs transcoded: the 1080p rendition file (with its audio) as a plain RTMP publish (ffmpeg -re -c copy),
#       the server's ladder set to 720p 2.5 Mbps + 360p 800 kbps, so it serves source, 720p and 360p.
# Measured as bench/transcode.sh does: utime+stime+cutime+cstime of the server process (its ffmpeg children are counted
# once they exit and are reaped) from just before the publish until the server has no ffmpeg child left. Reports
# CPU-seconds per media-second of each, the ratio (a)/(b) (the median over rounds), the server process's own CPU
# without its children, the ffmpeg children seen (pgrep -P, every 0.5 s) and each rendition's last segment number.
#
# Usage: bench/encoder-ladder.sh                    SECONDS_MEDIA=60 ROUNDS=2 WARMUP=5 by default
#        SECONDS_MEDIA=30 ROUNDS=3 bench/encoder-ladder.sh
#        WARMUP=0 measures cold processes (the JIT's one-time cost included); BUILD=0 skips the dotnet builds when their
#        outputs exist; SERVER_ARGS='--Foo:Bar=1' adds server switches to both runs; KEEP_TMP=1 keeps the server logs;
#        NO_RESULTS=1 does not append to RESULTS.md.
set -euo pipefail
export LC_ALL=C
USER_ARGS=${SERVER_ARGS:-}
source "$(dirname "$0")/lib.sh"

MEDIA=${SECONDS_MEDIA:-60}
WARMUP=${WARMUP:-5}
ROUNDS=${ROUNDS:-2}
((MEDIA >= 10 && MEDIA <= 300)) || die "SECONDS_MEDIA must be 10..300 (the encoder encodes at most 5 minutes)"
((WARMUP >= 0 && WARMUP < MEDIA)) || die "WARMUP must be 0..SECONDS_MEDIA-1"
((ROUNDS >= 1 && ROUNDS <= 9)) || die "ROUNDS must be 1..9"
BENCH_COMMAND="$(dotnet_env)SECONDS_MEDIA=$MEDIA WARMUP=$WARMUP ROUNDS=$ROUNDS${USER_ARGS:+ SERVER_ARGS='$USER_ARGS'} bench/encoder-ladder.sh"
SEND_DLL="$BENCH_DIR/multitrack/bin/Release/net10.0/Broadcast.MultitrackSend.dll"
# Both runs get the same server configuration; only the publish differs. Shedding off: (b) must transcode every rung for
# the whole window, or its CPU would drop exactly where it falls behind.
LADDER_ARGS="--Transcode:Enabled=true --Transcode:Ladder:0:Name=720p --Transcode:Ladder:0:Height=720 --Transcode:Ladder:0:VideoBitrate=2500000"
LADDER_ARGS+=" --Transcode:Ladder:1:Name=360p --Transcode:Ladder:1:Height=360 --Transcode:Ladder:1:VideoBitrate=800000 --Transcode:ShedBelowSpeed=0"
SERVER_ARGS="$LADDER_ARGS${USER_ARGS:+ $USER_ARGS}"
EVENT_2005="the encoder sends its own ladder of 3 video tracks; no transcoding"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl
bench_init
server_build
tool_build bench/multitrack "$SEND_DLL" "multitrack sender"

# Encoded once and cached: encoding three renditions costs more than the whole measured window, and both runs must send
# the very same pictures.
LADDER="$BENCH_CACHE/multitrack-1080p-720p-360p-${MEDIA}s"
if [[ ! -s "$LADDER/rendition0.flv" || ! -s "$LADDER/rendition2.flv" ]]; then
  log "encoding the ladder into $LADDER (once)"
  rm -rf "$LADDER.tmp"
  dotnet "$SEND_DLL" --encode-only "$LADDER.tmp" --seconds "$MEDIA" >&2 || die "encoding the ladder failed"
  rm -rf "$LADDER"
  mv "$LADDER.tmp" "$LADDER"
fi
TOP="$LADDER/rendition0.flv"

# /proc/PID/stat fields 14-17: utime stime cutime cstime (clock ticks); cutime/cstime add the children it has reaped.
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
own_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ffmpeg_children() { pgrep -P "$SERVER_PID" ffmpeg >/dev/null; }
no_ffmpeg_children() { ! ffmpeg_children; }
last_segment() { # rendition -> the newest listed segment's number, or -
  { curl -fsS --max-time 5 "$HTTP_BASE/live/$SLUG/$1/index.m3u8" 2>/dev/null || true; } \
    | awk -F'[-.]' '/\.m4s/ && !/^#/ { n = $(NF - 1) } END { print (n == "" ? "-" : n) }'
}
metric() { # name -> the first sample's value, or -
  { curl -fsS --max-time 5 "$HTTP_BASE/metrics" 2>/dev/null || true; } \
    | awk -v m="$1" 'v == "" && (index($0, m "{") == 1 || index($0, m " ") == 1) { v = $NF } END { print (v == "" ? "-" : v) }'
}
publish() { # kind seconds key: the encoder's ladder (multitrack) or the 1080p rendition alone (single track)
  local url="rtmp://127.0.0.1:$RTMP_PORT/live/$3"
  if [[ $1 == encoder ]]; then
    dotnet "$SEND_DLL" --url "$url" --from "$LADDER" --seconds "$MEDIA" --send-seconds "$2"
  else
    ffmpeg -nostdin -hide_banner -loglevel error -re -i "$TOP" -t "$2" -c copy -f flv "$url"
  fi
}

# run_case encoder|transcoded ROUND: one fresh server, a warm-up publish, the measured publish. Sets CPU, OWN, TX_CHILDREN,
# THUMB_CHILDREN, EVENTS, LASTS, KEPT, DRAIN, SPEED, DROPPED, RESTARTS.
run_case() {
  local kind=$1 dir="$BENCH_TMP/$1-$2" key before own_before lines t_end i
  server_start "$dir"
  # Warm-up, not measured (as in bench/transcode.sh): a short publish of the same kind on another channel pays the
  # process's one-time costs (the JIT compiling the ingest, multitrack, transcoding and packaging paths), which a server
  # that runs for days pays once.
  if ((WARMUP > 0)); then
    read -r key _ < <(create_channel "warmup-$kind")
    [[ -n $key ]] || die "could not create the warm-up channel"
    publish "$kind" "$WARMUP" "$key" >"$dir/warmup.out" 2>&1 || die "warm-up publish ($kind) failed: $(tail -3 "$dir/warmup.out")"
    wait_until 180 no_ffmpeg_children || die "the warm-up's transcoder did not stop"
  fi
  read -r key SLUG < <(create_channel "bench-$kind")
  [[ -n $key ]] || die "could not create the channel"
  sleep 2
  lines=$(wc -l <"$dir/server.log")
  # ffmpeg children of the server with their command lines, looked for every 0.1 s through the window: (a) must start no
  # transcoder. Both runs also get the thumbnail service's one-frame ffmpeg (mjpeg) at the stream's first keyframe, told
  # apart by its command line; being short, it can fall between two looks.
  : >"$dir/children"
  (while :; do pgrep -a -P "$SERVER_PID" ffmpeg >>"$dir/children" || true; sleep 0.1; done) &
  local watcher=$!
  BENCH_PIDS+=("$watcher")
  before=$(cpu_ticks "$SERVER_PID"); own_before=$(own_ticks "$SERVER_PID")
  publish "$kind" "$MEDIA" "$key" >"$dir/publish.out" 2>&1 || die "publish ($kind) failed: $(tail -3 "$dir/publish.out")"
  t_end=$SECONDS
  SPEED=$(metric broadcast_transcode_speed | awk '$1 == "-" { print; next } { printf "%.2fx\n", $1 }')
  DROPPED=$(metric broadcast_transcode_dropped_frames_total)
  # A transcoder still behind drains after the publish ends; its work belongs to this publish. Counted once its ffmpeg
  # has exited and been reaped (cutime/cstime).
  for ((i = 0; i < 600; i++)); do ffmpeg_children || break; sleep 0.5; done
  DRAIN=$((SECONDS - t_end))
  sleep 1
  CPU=$(awk -v a="$before" -v b="$(cpu_ticks "$SERVER_PID")" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')
  OWN=$(awk -v a="$own_before" -v b="$(own_ticks "$SERVER_PID")" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')
  kill "$watcher" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true
  read -r TX_CHILDREN THUMB_CHILDREN < <(awk 'NF && !($1 in seen) { seen[$1] = 1; if (index($0, " mjpeg ")) t++; else x++ }
    END { print x + 0, t + 0 }' "$dir/children")
  EVENTS=$(tail -n +$((lines + 1)) "$dir/server.log" | awk -v e="$EVENT_2005" 'index($0, e) { n++ } END { print n + 0 }')
  RESTARTS=$(tail -n +$((lines + 1)) "$dir/server.log" | awk 'index($0, "Restarting the transcoder") { n++ } END { print n + 0 }')
  local names=(source track1 track2) n=() r
  [[ $kind == encoder ]] || names=(source 720p 360p)
  for r in "${names[@]}"; do n+=("$(last_segment "$r")"); done
  LASTS="${names[0]} ${n[0]}, ${names[1]} ${n[1]}, ${names[2]} ${n[2]}"
  # Kept up: every rung listed as many segments as the source by the time the server had no ffmpeg child left.
  KEPT=0
  [[ ${n[0]} != - && ${n[1]} == "${n[0]}" && ${n[2]} == "${n[0]}" ]] && KEPT=1
  log "$kind: $CPU CPU-s (server process $OWN), ffmpeg children: transcoder $TX_CHILDREN, thumbnail $THUMB_CHILDREN; event 2005 $EVENTS, last segments $LASTS, drain ${DRAIN}s"
  stop_tree "$SERVER_PID"
  BENCH_PIDS=()
}

f3() { awk -v x="$1" 'BEGIN { printf "%.3f", x }'; }
per() { awk -v x="$1" -v m="$MEDIA" 'BEGIN { printf "%.4f", x / m }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ROWS="" ENC_PER=() TX_PER=() ENC_OWN=() TX_OWN=() RATIOS=() OWN_RATIOS=() ENC_CHILDREN=0 ENC_EVENTS_OK=1 ALL_KEPT=1
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round/$ROUNDS: the encoder's ladder, then the same rungs transcoded"
  run_case encoder "$round"
  E_CPU=$CPU E_OWN=$OWN
  ENC_CHILDREN=$((ENC_CHILDREN + TX_CHILDREN))
  ((EVENTS >= 1)) || ENC_EVENTS_OK=0
  ROWS+="| $round | (a) encoder's ladder, multitrack | $(f3 "$CPU") | $(f3 "$OWN") | $(f3 "$(awk -v a="$CPU" -v b="$OWN" 'BEGIN { print a - b }')") | **$(per "$CPU")** | $TX_CHILDREN / $THUMB_CHILDREN | $EVENTS | - | $LASTS |
"
  run_case transcoded "$round"
  ((KEPT)) || ALL_KEPT=0
  ROWS+="| $round | (b) 1080p transcoded into 720p + 360p | $(f3 "$CPU") | $(f3 "$OWN") | $(f3 "$(awk -v a="$CPU" -v b="$OWN" 'BEGIN { print a - b }')") | **$(per "$CPU")** | $TX_CHILDREN / $THUMB_CHILDREN | $EVENTS | speed $SPEED at the publish's end, dropped frames $DROPPED, restarts $RESTARTS, drained ${DRAIN} s after | $LASTS |
"
  ENC_PER+=("$(per "$E_CPU")"); TX_PER+=("$(per "$CPU")")
  ENC_OWN+=("$(per "$E_OWN")"); TX_OWN+=("$(per "$OWN")")
  RATIOS+=("$(awk -v a="$E_CPU" -v b="$CPU" 'BEGIN { print a / b }')")
  OWN_RATIOS+=("$(awk -v a="$E_OWN" -v b="$OWN" 'BEGIN { print a / b }')")
done
M_ENC=$(median "${ENC_PER[@]}"); M_TX=$(median "${TX_PER[@]}")
M_ENC_OWN=$(median "${ENC_OWN[@]}"); M_TX_OWN=$(median "${TX_OWN[@]}")
RATIO=$(median "${RATIOS[@]}"); OWN_RATIO=$(median "${OWN_RATIOS[@]}")
SAVING=$(awk -v r="$RATIO" 'BEGIN { printf "%.0f", (1 - r) * 100 }')
f4() { awk -v x="$1" 'BEGIN { printf "%.4f", x }'; }

BODY=$(cat <<MD
Ladder: ${MEDIA} s of 1920x1080 4500k, 1280x720 2500k, 640x360 800k H.264 30 fps (libx264 veryfast zerolatency, keyframes every
2 s in all three) + AAC 128k with the 1080p rendition, encoded once by bench/multitrack (the tests' encoder). Each run is a fresh
server with the same switches (\`$LADDER_ARGS\`) and an unmeasured ${WARMUP} s publish of the same kind first.
(a) the three renditions as one Enhanced RTMP v2 multitrack publish (the tests' sender, paced in real time), packaged as
source, track1, track2; (b) the 1080p rendition file alone (\`ffmpeg -re -i rendition0.flv -c copy -f flv\`), transcoded by the
server into 720p and 360p (libx264 veryfast) and packaged as source, 720p, 360p. CPU: utime+stime+cutime+cstime of the
server process (reaped ffmpeg children included) from just before the publish until no ffmpeg child is left; the
publishers' own CPU is not counted.

| round | run | CPU-s | server process | children | CPU-s per media-s | ffmpeg children seen (transcoder / thumbnail) | event 2005 | transcoder | last segment |
|---|---|---|---|---|---|---|---|---|---|
$ROWS
Median over $ROUNDS rounds, CPU-seconds per media-second: (a) encoder's ladder **$(f4 "$M_ENC")**, (b) transcoded **$(f4 "$M_TX")**;
ratio (a)/(b) **$(f3 "$RATIO")** (the encoder's ladder costs the server ${SAVING} % less). The server process alone, without
children: (a) $(f4 "$M_ENC_OWN"), (b) $(f4 "$M_TX_OWN") per media-second, ratio $(f3 "$OWN_RATIO").
(a) started $ENC_CHILDREN transcoding ffmpeg children in all its windows and logged event 2005 ("$EVENT_2005") in
$( ((ENC_EVENTS_OK)) && echo "every round" || echo "NOT every round"). Children were looked for with pgrep -P every 0.1 s; both runs also start the thumbnail
service's one-frame ffmpeg (mjpeg) at the stream's first keyframe, short enough to fall between looks, and it is what
the children column of (a) holds. (b)'s rungs kept up in real time in $( ((ALL_KEPT)) && echo "every round" || echo "NOT every round") (each rung's last segment number equal to the source's
once the transcoder had exited).
MD
)
echo "$BODY"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "Encoder's own ladder vs the same rungs transcoded: server CPU" "$BODY"

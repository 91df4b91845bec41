#!/usr/bin/env bash
# Transcoding cost: the same ladder (480p 1.2 Mbps + 360p 700 kbps from a 60 s 1280x720p30 source, libx264 veryfast,
# keyframes at the source's) through plain ffmpeg and through Broadcast.Server, in one run on one machine.
# Reports CPU-seconds per media-second of each, their ratio (target <= 1.05) and plain ffmpeg's encode speed
# (target >= 1.0x). Appends the numbers and this command to bench/RESULTS.md.
#
#   bench/transcode.sh            # build the server (Release), generate the source once, run both, append results
#   SECONDS_MEDIA=30 bench/transcode.sh   # shorter source
#   WARMUP=0 bench/transcode.sh           # no unmeasured warm-up publish: includes the process's one-time JIT cost
#   ROUNDS=5 bench/transcode.sh           # more alternating rounds of (paced plain ffmpeg, server): the ratio is their median
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MEDIA=${SECONDS_MEDIA:-60}
WARMUP=${WARMUP:-5} # seconds of an unmeasured first publish per server run; WARMUP=0 measures a cold process
# x264's own CPU for the same 60 s varies by 1-3 CPU-seconds between runs on this shared machine (as much as the whole
# difference being measured), so the peer and the server run in alternating rounds and the ratio is the median of the
# rounds' ratios.
ROUNDS=${ROUNDS:-3}
((ROUNDS >= 1 && ROUNDS <= 9)) || { echo "ROUNDS must be 1..9" >&2; exit 2; }
WORK=${BENCH_WORK:-/tmp/broadcast-bench-transcode}
mkdir -p "$WORK"
SRC="$WORK/src-1280x720p30-${MEDIA}s.flv"
HZ=$(getconf CLK_TCK)

if [ ! -s "$SRC" ]; then
  echo "generating $SRC" >&2
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" \
    -f lavfi -i "sine=frequency=1000:sample_rate=48000" -t "$MEDIA" \
    -c:v libx264 -preset veryfast -profile:v high -b:v 2500k -maxrate 2500k -bufsize 2500k -g 60 -keyint_min 60 -sc_threshold 0 \
    -c:a aac -b:a 128k -f flv "$SRC"
fi

# /proc/PID/stat fields 14-17: utime stime cutime cstime (clock ticks); cutime/cstime include waited-for children (ffmpeg).
cpu_ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
own_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; } # the server process alone, without its ffmpeg child

# ---- 1. plain ffmpeg: the argument list FfmpegCommand builds for x264 (golden list in FfmpegCommandTests), file in, null out.
PLAIN_ARGS=(-hide_banner -nostats -loglevel error -copyts -analyzeduration 1000000 -f flv -i "$SRC"
  -filter_complex "[0:v:0]split=2[s0][s1];[s0]scale=854:480[v0];[s1]scale=640:360[v1]"
  -map "[v0]" -an -fps_mode passthrough -force_key_frames source -c:v libx264 -preset veryfast -profile:v high -sc_threshold 0 -g 9999 -keyint_min 1 -b:v 1200000 -maxrate 1200000 -bufsize 1200000 -f flv -y /dev/null
  -map "[v1]" -an -fps_mode passthrough -force_key_frames source -c:v libx264 -preset veryfast -profile:v high -sc_threshold 0 -g 9999 -keyint_min 1 -b:v 700000 -maxrate 700000 -bufsize 700000 -f flv -y /dev/null)
# (a) as fast as it goes: the encode speed. (b) paced at real time (-re), like a live input: the like-for-like CPU peer
# (x264's frame threads cost more per frame when fed one frame at a time than when saturated).
start=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$WORK/plain.time" ffmpeg "${PLAIN_ARGS[@]}"
end=$(date +%s.%N)
read -r pu ps < "$WORK/plain.time"
PLAIN_FAST_CPU=$(echo "$pu + $ps" | bc -l)
PLAIN_WALL=$(echo "$end - $start" | bc -l)
PLAIN_SPEED=$(echo "$MEDIA / $PLAIN_WALL" | bc -l)
plain_paced() { # sets PLAIN_CPU
  /usr/bin/time -f "%U %S" -o "$WORK/plain-re.time" ffmpeg -re "${PLAIN_ARGS[@]}"
  read -r pu ps < "$WORK/plain-re.time"
  PLAIN_CPU=$(echo "$pu + $ps" | bc -l)
}

# ---- 2. our server: real-time RTMP publish of the same file; CPU of the server process and its ffmpeg child during
# the publish. Run twice: transcoding on, and off (source passthrough only), to separate what ingest + packaging cost.
echo "building the server (Release)" >&2
dotnet build server -c Release -o "$WORK/server" -v quiet -nologo >/dev/null
free_port() { "$ROOT/scripts/free-port.sh"; }
run_server() { # $1 = true|false (Transcode:Enabled); sets CPU, SRC_LAST, R480_LAST, R360_LAST, SHED, RESTARTS
  local DATA="$WORK/data-$1"; rm -rf "$DATA"; mkdir -p "$DATA"
  local RTMP HTTP TOKEN CH KEY SLUG before after
  RTMP=$(free_port); HTTP=$(free_port); TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")"
  dotnet "$WORK/server/Broadcast.Server.dll" --Rtmp:Port="$RTMP" --Http:Urls="http://127.0.0.1:$HTTP" --Urls="http://127.0.0.1:$HTTP" \
    --Storage:Path="$DATA/media" "--Database:ConnectionString=Data Source=$DATA/b.db" --Admin:Token="$TOKEN" \
    --Transcode:Enabled="$1" --Transcode:ShedBelowSpeed=0 > "$WORK/server-$1.log" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$HTTP/healthz" >/dev/null && break; sleep 0.5; done
  CH=$(curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"name":"bench"}' "http://127.0.0.1:$HTTP/api/channels")
  KEY=$(echo "$CH" | python3 -c 'import json,sys;print(json.load(sys.stdin)["streamKey"])')
  SLUG=$(echo "$CH" | python3 -c 'import json,sys;print(json.load(sys.stdin)["slug"])')
  # Warm-up, not measured (as in bench/ingest.sh): a first short publish on another channel pays the process's one-time
  # costs (the JIT compiling the ingest, packaging and transcoding paths, lazily built services), which a server that
  # runs for days pays once; the target is the steady cost per media-second.
  if ((WARMUP > 0)); then
    local WKEY
    WKEY=$(curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"name":"warmup"}' "http://127.0.0.1:$HTTP/api/channels" \
      | python3 -c 'import json,sys;print(json.load(sys.stdin)["streamKey"])')
    ffmpeg -hide_banner -loglevel error -re -i "$SRC" -t "$WARMUP" -c copy -f flv "rtmp://127.0.0.1:$RTMP/live/$WKEY" || true
    for _ in $(seq 1 120); do pgrep -P $SERVER ffmpeg >/dev/null || break; sleep 0.5; done
  fi
  sleep 2
  before=$(cpu_ticks $SERVER); local own_before; own_before=$(own_ticks $SERVER)
  ffmpeg -hide_banner -loglevel error -re -i "$SRC" -c copy -f flv "rtmp://127.0.0.1:$RTMP/live/$KEY"
  # The transcoder drains and its ffmpeg exits after the publish ends: wait until the server has no ffmpeg child left.
  for _ in $(seq 1 120); do pgrep -P $SERVER ffmpeg >/dev/null || break; sleep 0.5; done
  sleep 1
  after=$(cpu_ticks $SERVER)
  CPU=$(echo "($after - $before) / $HZ" | bc -l)
  OWN_CPU=$(echo "($(own_ticks $SERVER) - $own_before) / $HZ" | bc -l)
  last() { curl -sf "http://127.0.0.1:$HTTP/live/$SLUG/$1/index.m3u8" | grep '\.m4s$' | tail -1 | sed 's/.*-\([0-9]*\)\.m4s/\1/' || true; }
  SRC_LAST=$(last source); R480_LAST=$(last 480p); R360_LAST=$(last 360p)
  SHED=$(grep -c "sheds rung" "$WORK/server-$1.log" || true)
  RESTARTS=$(grep -c "Restarting the transcoder" "$WORK/server-$1.log" || true)
  kill $SERVER; wait $SERVER 2>/dev/null || true
  trap - EXIT
}
run_server false
PASS_CPU=$CPU
f() { printf "%.3f" "$1"; }
ROUND_ROWS="" RATIOS=() TX_RATIOS=()
for ((round = 1; round <= ROUNDS; round++)); do
  echo "round $round/$ROUNDS: plain ffmpeg paced, then the server" >&2
  plain_paced
  run_server true
  SERVER_CPU=$CPU
  SERVER_OWN_CPU=$OWN_CPU
  CHILD_CPU=$(echo "$SERVER_CPU - $SERVER_OWN_CPU" | bc -l)
  RATIO=$(echo "$SERVER_CPU / $PLAIN_CPU" | bc -l)
  RATIOS+=("$RATIO")
  TX_RATIOS+=("$(echo "($SERVER_CPU - $PASS_CPU) / $PLAIN_CPU" | bc -l)")
  ROUND_ROWS+="| $round | $(f $PLAIN_CPU) | $(f $SERVER_CPU) | $(f $SERVER_OWN_CPU) | $(f $CHILD_CPU) ($(f $(echo "$CHILD_CPU / $PLAIN_CPU" | bc -l))x) | **$(f $RATIO)** | source $SRC_LAST, 480p $R480_LAST, 360p $R360_LAST; restarts $RESTARTS; sheds $SHED |
"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
RATIO=$(median "${RATIOS[@]}")
TX_RATIO=$(median "${TX_RATIOS[@]}")
PASS_PER=$(echo "$PASS_CPU / $MEDIA" | bc -l)
REPORT=$(cat <<MD

## Transcoding: plain ffmpeg vs Broadcast.Server ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(ffmpeg -version | head -1 | cut -d' ' -f1-3))
Command: \`bench/transcode.sh\` (SECONDS_MEDIA=$MEDIA WARMUP=$WARMUP ROUNDS=$ROUNDS: each server run first takes an unmeasured ${WARMUP} s publish on another channel). Source: ${MEDIA} s 1280x720p30 H.264 2.5 Mbps + AAC (FLV).
Ladder: 480p 1.2 Mbps + 360p 700 kbps, libx264 veryfast, keyframes at the source's; the server also packages source + audio + both rungs as CMAF/HLS/DASH.

| run | CPU-s | CPU-s per media-s | notes |
|---|---|---|---|
| plain ffmpeg, as fast as it goes (file in, null out) | $(f $PLAIN_FAST_CPU) | $(f $(echo "$PLAIN_FAST_CPU / $MEDIA" | bc -l)) | encode speed $(f $PLAIN_SPEED)x realtime |
| Broadcast.Server, transcoding off (ingest + packaging of source and audio only) | $(f $PASS_CPU) | $(f $PASS_PER) | baseline |

Alternating rounds, CPU-seconds for the ${MEDIA} s: plain ffmpeg paced at real time (\`-re\`, same arguments: the peer), then the
server with transcoding on (the server process itself: ingest, ffmpeg feed, rung reads, packaging of 4 tracks; and its ffmpeg child).

| round | plain ffmpeg paced | server total | server process | its ffmpeg child (vs peer) | ratio | last segment |
|---|---|---|---|---|---|---|
$ROUND_ROWS
Ratio server / paced plain ffmpeg, median of $ROUNDS rounds: **$(f $RATIO)** (target <= 1.05); transcoding alone ((on - off) / paced plain): **$(f $TX_RATIO)**.
Encode speed (plain ffmpeg, same ladder): **$(f $PLAIN_SPEED)x** (target >= 1.0x); the server kept up when every rung's last segment equals the source's.
This machine is shared with other builds: compare the ratio, not the absolute seconds.
MD
)
echo "$REPORT"
echo "$REPORT" >> "$ROOT/bench/RESULTS.md"

#!/usr/bin/env bash
# Opus over SRT: what converting an encoder's Opus audio to AAC costs (ingest/Srt/OpusToAacTranscoder, one supervised
# ffmpeg per Opus publisher), against its peer, plain ffmpeg doing the same conversion with the same arguments, in one run.
# The server publishes twice over SRT, the same 640x360 video with Opus audio and with AAC audio (ladder off, so only
# ingest, the conversion and packaging run); the conversion's cost is the difference, and its ffmpeg child's own CPU.
# Reports CPU-seconds per media-second and the ratio to the peer (paced at real time with -re, like a live input).
#
#   bench/opus.sh                      # 60 s of media, 3 alternating rounds; appends to bench/RESULTS.md
#   SECONDS_MEDIA=30 ROUNDS=1 bench/opus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MEDIA=${SECONDS_MEDIA:-60}
ROUNDS=${ROUNDS:-3}
((ROUNDS >= 1 && ROUNDS <= 9)) || { echo "ROUNDS must be 1..9" >&2; exit 2; }
WORK=${BENCH_WORK:-/tmp/broadcast-bench-opus}
mkdir -p "$WORK"
HZ=$(getconf CLK_TCK)
BITRATE=128000 # Srt:OpusToAacBitrate's default

gen() { # $1 = libopus|aac, $2 = output
  [ -s "$2" ] && return 0
  echo "generating $2" >&2
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -ac 2 -t "$MEDIA" \
    -c:v libx264 -preset veryfast -b:v 800k -g 60 -keyint_min 60 -sc_threshold 0 -bf 0 \
    -c:a "$1" -b:a 96k -f mpegts "$2"
}
OPUS_TS="$WORK/opus-${MEDIA}s.ts"; AAC_TS="$WORK/aac-${MEDIA}s.ts"; OPUS_AUDIO="$WORK/opus-audio-${MEDIA}s.ts"
gen libopus "$OPUS_TS"; gen aac "$AAC_TS"
[ -s "$OPUS_AUDIO" ] || ffmpeg -hide_banner -loglevel error -y -i "$OPUS_TS" -map 0:a -c copy -f mpegts "$OPUS_AUDIO"

cpu_ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; } # utime stime cutime cstime: the server and its waited-for children
own_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# The peer: the converter's own argument list (OpusToAacTranscoder.Arguments), the Opus audio from a file, paced.
plain_paced() { # sets PLAIN_CPU
  /usr/bin/time -f "%U %S" -o "$WORK/plain.time" ffmpeg -re -hide_banner -nostats -loglevel error -probesize 32768 -analyzeduration 200000 \
    -copyts -f mpegts -i "$OPUS_AUDIO" -map 0:a:0 -c:a aac -b:a "$BITRATE" -ar 48000 -ac 2 -flush_packets 1 -flvflags no_duration_filesize -f flv -y /dev/null
  read -r pu ps < "$WORK/plain.time"
  PLAIN_CPU=$(echo "$pu + $ps" | bc -l)
}

echo "building the server (Release)" >&2
dotnet build server -c Release -o "$WORK/server" -v quiet -nologo >/dev/null
free_port() { "$ROOT/scripts/free-port.sh"; }
publish() { # $1 = the TS; sets CPU, OWN_CPU, LAST_AUDIO
  local DATA="$WORK/data"; rm -rf "$DATA"; mkdir -p "$DATA"
  local SRT HTTP TOKEN CH KEY SLUG before own_before
  SRT=$(free_port); HTTP=$(free_port); TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")"
  dotnet "$WORK/server/Broadcast.Server.dll" --Rtmp:Port="$(free_port)" --Srt:Port="$SRT" --Http:Urls="http://127.0.0.1:$HTTP" --Urls="http://127.0.0.1:$HTTP" \
    --Storage:Path="$DATA/media" "--Database:ConnectionString=Data Source=$DATA/b.db" --Admin:Token="$TOKEN" \
    --Transcode:Enabled=false --Janus:Enabled=false > "$WORK/server.log" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$HTTP/healthz" >/dev/null && break; sleep 0.5; done
  CH=$(curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"name":"bench"}' "http://127.0.0.1:$HTTP/api/channels")
  KEY=$(echo "$CH" | python3 -c 'import json,sys;print(json.load(sys.stdin)["streamKey"])')
  SLUG=$(echo "$CH" | python3 -c 'import json,sys;print(json.load(sys.stdin)["slug"])')
  sleep 2
  before=$(cpu_ticks $SERVER); own_before=$(own_ticks $SERVER)
  ffmpeg -hide_banner -loglevel error -re -i "$1" -c copy -f mpegts "srt://127.0.0.1:$SRT?streamid=#!::r=live/$KEY,m=publish"
  # The converter's ffmpeg exits once the publish has ended (after the reconnect grace): wait for the server to have no child.
  for _ in $(seq 1 120); do pgrep -P $SERVER ffmpeg >/dev/null || break; sleep 0.5; done
  sleep 1
  CPU=$(echo "($(cpu_ticks $SERVER) - $before) / $HZ" | bc -l)
  OWN_CPU=$(echo "($(own_ticks $SERVER) - $own_before) / $HZ" | bc -l)
  LAST_AUDIO=$(curl -sf "http://127.0.0.1:$HTTP/live/$SLUG/audio/index.m3u8" | grep -c '\.m4s$' || true)
  kill $SERVER; wait $SERVER 2>/dev/null || true
  trap - EXIT
}

f() { printf "%.3f" "$1"; }
ROWS="" RATIOS=()
for ((round = 1; round <= ROUNDS; round++)); do
  echo "round $round/$ROUNDS: plain ffmpeg paced, the server with AAC, the server with Opus" >&2
  plain_paced
  publish "$AAC_TS"; AAC_CPU=$CPU
  publish "$OPUS_TS"; OPUS_CPU=$CPU; OPUS_CHILD=$(echo "$CPU - $OWN_CPU" | bc -l); OPUS_SEGMENTS=$LAST_AUDIO
  EXTRA=$(echo "$OPUS_CPU - $AAC_CPU" | bc -l)
  RATIO=$(echo "$EXTRA / $PLAIN_CPU" | bc -l)
  RATIOS+=("$RATIO")
  ROWS+="| $round | $(f $PLAIN_CPU) | $(f $AAC_CPU) | $(f $OPUS_CPU) | $(f $OPUS_CHILD) ($(f $(echo "$OPUS_CHILD / $PLAIN_CPU" | bc -l))x) | $(f $EXTRA) | **$(f $RATIO)** | $OPUS_SEGMENTS |
"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
RATIO=$(median "${RATIOS[@]}")
REPORT=$(cat <<MD

## Opus over SRT: the conversion to AAC against plain ffmpeg — $(date -u +%Y-%m-%dT%H:%MZ)

Command: \`SECONDS_MEDIA=$MEDIA ROUNDS=$ROUNDS bench/opus.sh\` (commit $(git rev-parse --short HEAD), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))

Source: ${MEDIA} s of 640x360p30 H.264 with stereo audio at 96 kb/s, once as Opus and once as AAC, in MPEG-TS, published
over SRT at real time (\`ffmpeg -re -c copy\`); ladder off. Peer: plain ffmpeg paced at real time, converting the same Opus
audio with the converter's own arguments (AAC ${BITRATE} b/s). CPU-seconds for the ${MEDIA} s:

| round | plain ffmpeg (peer) | server, AAC publish | server, Opus publish | its converter ffmpeg (vs peer) | Opus − AAC | ratio (Opus − AAC) / peer | audio segments listed |
|---|---|---|---|---|---|---|---|
$ROWS
Ratio, median of $ROUNDS rounds: **$(f $RATIO)** (the conversion's whole cost, the server's feeding and reading included,
against plain ffmpeg's). This machine is shared: compare the ratio, not the absolute seconds.
MD
)
echo "$REPORT"
[ "${NO_RESULTS:-0}" = 1 ] || echo "$REPORT" >> "$ROOT/bench/RESULTS.md"

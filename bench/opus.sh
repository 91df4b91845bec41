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
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
MEDIA=${SECONDS_MEDIA:-60}
ROUNDS=${ROUNDS:-3}
((ROUNDS >= 1 && ROUNDS <= 9)) || die "ROUNDS must be 1..9"
BENCH_COMMAND="$(dotnet_env)SECONDS_MEDIA=$MEDIA ROUNDS=$ROUNDS bench/opus.sh"
bench_init
WORK="$BENCH_CACHE/opus"
mkdir -p "$WORK"
BITRATE=128000 # Srt:OpusToAacBitrate's default

gen() { # $1 = libopus|aac, $2 = output
  [ -s "$2" ] && return 0
  log "generating $2"
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

server_build
publish() { # $1 = the TS; sets CPU, OWN_CPU, AUDIO_SEGMENTS
  local srt key slug before own_before
  srt=$(free_port)
  rm -rf "$BENCH_TMP/server"
  SERVER_ARGS="--Transcode:Enabled=false --Janus:Enabled=false --Srt:Port=$srt" server_start "$BENCH_TMP/server"
  read -r key slug < <(create_channel bench)
  sleep 2
  before=$(cpu_ticks "$SERVER_PID"); own_before=$(own_ticks "$SERVER_PID")
  ffmpeg -hide_banner -loglevel error -re -i "$1" -c copy -f mpegts "srt://127.0.0.1:$srt?streamid=#!::r=live/$key,m=publish"
  # The converter's ffmpeg exits once the publish has ended (after the reconnect grace): wait for the server to have no child.
  wait_until 60 bash -c "! pgrep -P $SERVER_PID ffmpeg >/dev/null" || log "the converter is still running"
  sleep 1
  CPU=$(echo "($(cpu_ticks "$SERVER_PID") - $before) / $CLK_TCK" | bc -l)
  OWN_CPU=$(echo "($(own_ticks "$SERVER_PID") - $own_before) / $CLK_TCK" | bc -l)
  AUDIO_SEGMENTS=$(curl -fsS "$HTTP_BASE/live/$slug/audio/index.m3u8" | grep -c '\.m4s$' || true)
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
}

f() { printf "%.3f" "$1"; }
ROWS="" RATIOS=()
for ((round = 1; round <= ROUNDS; round++)); do
  echo "round $round/$ROUNDS: plain ffmpeg paced, the server with AAC, the server with Opus" >&2
  plain_paced
  publish "$AAC_TS"; AAC_CPU=$CPU
  publish "$OPUS_TS"; OPUS_CPU=$CPU; OPUS_CHILD=$(echo "$CPU - $OWN_CPU" | bc -l); OPUS_SEGMENTS=$AUDIO_SEGMENTS
  EXTRA=$(echo "$OPUS_CPU - $AAC_CPU" | bc -l)
  RATIO=$(echo "$EXTRA / $PLAIN_CPU" | bc -l)
  RATIOS+=("$RATIO")
  ROWS+="| $round | $(f $PLAIN_CPU) | $(f $AAC_CPU) | $(f $OPUS_CPU) | $(f $OPUS_CHILD) ($(f $(echo "$OPUS_CHILD / $PLAIN_CPU" | bc -l))x) | $(f $EXTRA) | **$(f $RATIO)** | $OPUS_SEGMENTS |
"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
RATIO=$(median "${RATIOS[@]}")
BODY=$(cat <<MD
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
echo "$BODY"
[ "${NO_RESULTS:-0}" = 1 ] || results_append "Opus over SRT: the conversion to AAC against plain ffmpeg" "$BODY"

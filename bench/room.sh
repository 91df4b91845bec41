#!/usr/bin/env bash
# A live room's cost: N participants (4 by default) publishing 1280x720 over WHIP (Debian's Chromium, tests/players/whip.html:
# a canvas of its own colour with a moving bar, VP8 + Opus) into one channel's room; Janus's VideoRoom forwards each
# one's RTP to the channel's program, which decodes the four, composes a 2x2 grid onto 1280x720p30, mixes their sound and
# encodes H.264 (libx264 veryfast, zerolatency, 3000 kb/s) + AAC, packaged as HLS — all on this machine, at once.
#
# Ours: CPU over WINDOW seconds of Janus, of the server with its children (the four RTP decoders, the program encoder,
# the packaging) and of Chromium (the participants' encoders: context, not ours), and the program's real-time speed:
# media seconds the program's HLS gained over the window's wall seconds (1.00 when it keeps up). Peer, in the same run,
# before ours: one plain ffmpeg doing the server side's media work on the same kind of input — four 1280x720p30 VP8 clips
# (-re) decoded, each scaled to fill a quarter, xstack 2x2, amix + alimiter, the same encoder settings — to /dev/null.
# Then host to co-host: two participants, one's camera a canvas with a clock burned in, read by the other from the picture
# it receives through the room (bench/room-latency.mjs): glass to glass p50/p95/max (target p95 <= 400 ms); and one's
# microphone a beep at every whole second, its onsets found in the other's received audio: mouth to ear, the same target.
# Appends to bench/RESULTS.md.
#
#   bench/room.sh                    # 4 participants, 20 s window
#   PARTICIPANTS=2 WINDOW=40 bench/room.sh
#   BUILD=0 bench/room.sh            # use the server already built
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"
WINDOW=${WINDOW:-20}
PARTICIPANTS=${PARTICIPANTS:-4}
((WINDOW >= 5 && WINDOW <= 120)) || die "WINDOW must be 5..120 seconds"
((PARTICIPANTS >= 1 && PARTICIPANTS <= 4)) || die "PARTICIPANTS must be 1..4"
BENCH_COMMAND="$(dotnet_env)PARTICIPANTS=$PARTICIPANTS WINDOW=$WINDOW bench/room.sh"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl chromium janus
bench_init
(cd "$REPO_DIR/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in bench/ failed"
server_build

# ---- 1. the peer: plain ffmpeg, the same media work on VP8 clips like the participants'.
VP8="$BENCH_CACHE/room-vp8-720p30.webm"
if [[ ! -s "$VP8" ]]; then
  log "generating $VP8 (once; cached under bench/.cache)"
  ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=500:sample_rate=48000" \
    -t 20 -c:v libvpx -deadline realtime -cpu-used 8 -b:v 1500k -g 90 -c:a libopus -b:a 64k "$VP8.tmp.webm"
  mv "$VP8.tmp.webm" "$VP8"
fi
inputs=(); graph=""; stack=""; mix=""
for ((i = 0; i < PARTICIPANTS; i++)); do
  inputs+=(-re -stream_loop -1 -i "$VP8")
  graph+="[$i:v]fps=30,scale=640:360:force_original_aspect_ratio=increase,crop=640:360[v$i];"
  stack+="[v$i]"; mix+="[$i:a]"
done
case $PARTICIPANTS in
  1) graph+="${stack}null[v];" ;;
  2) graph+="${stack}hstack=inputs=2,pad=1280:720:0:180[v];" ;;
  3) graph+="${stack}color=c=black:s=640x360:r=30[pad];[pad]null[v3x];[v0][v1][v2][v3x]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0:shortest=1[v];" ;;
  4) graph+="${stack}xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[v];" ;;
esac
graph+="${mix}amix=inputs=$PARTICIPANTS:normalize=0,alimiter=limit=0.891[a]"
log "plain ffmpeg, paced (-re), $PARTICIPANTS VP8 720p inputs, ${WINDOW} s"
/usr/bin/time -f "%U %S" -o "$BENCH_TMP/peer.time" ffmpeg -nostdin -hide_banner -loglevel error "${inputs[@]}" -t "$WINDOW" \
  -filter_complex "$graph" -map "[v]" -map "[a]" -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 60 -keyint_min 60 \
  -sc_threshold 0 -fps_mode cfr -b:v 3000k -maxrate 3000k -bufsize 6000k -c:a aac -b:a 128k -ar 48000 -ac 2 -f flv -y /dev/null
PEER_CPU=$(awk '{ printf "%.2f", $1 + $2 }' "$BENCH_TMP/peer.time")

# ---- 2. ours: the room.
SERVER_ARGS="--Transcode:Enabled=false --Program:Width=1280 --Program:Height=720" server_start "$BENCH_TMP/server"
read -r KEY SLUG < <(create_channel "room bench")
node "$REPO_DIR/bench/room-load.mjs" "$HTTP_BASE/whip" "$KEY" "$PARTICIPANTS" $((WINDOW + 25)) >"$BENCH_TMP/load.out" 2>"$BENCH_TMP/load.err" &
LOAD_PID=$!
BENCH_PIDS+=("$LOAD_PID")
wait_until 90 grep -q "^connected" "$BENCH_TMP/load.out" || die "the participants did not connect: $(tail -3 "$BENCH_TMP/load.err")"
wait_until 40 curl -fsS -o /dev/null "$HTTP_BASE/live/$SLUG/master.m3u8" || die "the room's program did not go live"
sleep 8 # every participant's decoder has its first keyframe; the layout is the grid
JANUS_PID=$(pgrep -x janus | head -1 || true)
[[ -n "$JANUS_PID" ]] || die "no janus process"
CHROMIUM_PIDS=$(descendants "$LOAD_PID" | tr '\n' ' ')
# The whole machine's busy share over the window (every core): /proc/stat's first line, idle and iowait against the total.
machine() { awk '/^cpu / { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print idle, total }' /proc/stat; }
ticks() { for p in "$@"; do [[ -r /proc/$p/stat ]] && awk '{ i = index($0, ") "); split(substr($0, i + 2), f, " "); print f[12] + f[13] }' "/proc/$p/stat"; done | awk '{ s += $1 } END { print s + 0 }'; }
# The program's media seconds so far: the sum of EXTINF in its source rendition's playlist, from its first entry's number.
media_seconds() {
  curl -fsS "$HTTP_BASE/live/$SLUG/source/index.m3u8" | awk -F'[:,]' '
    /^#EXT-X-MEDIA-SEQUENCE:/ { seq = $2 } /^#EXTINF:/ { d[seq + n++] = $2 }
    END { for (k in d) printf "%d %s\n", k, d[k] }' | sort -n
}
sampler_start "$SERVER_PID" "$BENCH_TMP/samples"
media_seconds >"$BENCH_TMP/m0"
read -r IDLE0 TOTAL0 < <(machine)
J0=$(ticks "$JANUS_PID"); C0=$(ticks $CHROMIUM_PIDS); T0=$EPOCHREALTIME
sleep "$WINDOW"
J1=$(ticks "$JANUS_PID"); C1=$(ticks $CHROMIUM_PIDS); T1=$EPOCHREALTIME
read -r IDLE1 TOTAL1 < <(machine)
BUSY=$(awk -v i0="$IDLE0" -v i1="$IDLE1" -v t0="$TOTAL0" -v t1="$TOTAL1" 'BEGIN { printf "%.0f %%", 100 * (1 - (i1 - i0) / (t1 - t0)) }')
media_seconds >"$BENCH_TMP/m1"
sampler_stop
read -r SERVER_CPU SERVER_RSS _ < <(sampler_report "$BENCH_TMP/samples" "$T0" "$T1")
wait "$LOAD_PID" || log "the participants' run ended badly: $(tail -3 "$BENCH_TMP/load.err")"
# ---- 3. host to co-host: two participants, one's burned-in clock read from the other's received picture.
log "glass to glass and mouth to ear between two participants, ${WINDOW} s"
read -r G50 G95 GMAX GN GJIT GDEC A50 A95 AMAX AN AJIT < <(node "$REPO_DIR/bench/room-latency.mjs" "$HTTP_BASE" "$KEY" "$SLUG" "$WINDOW" 2>"$BENCH_TMP/latency.err" || echo "- - - - - - - - - - -")
[[ "$G50" != "-" ]] || log "the latency run failed: $(tail -3 "$BENCH_TMP/latency.err")"
GV=$(awk -v a="$G95" 'BEGIN { if (a == "-") print "n/a"; else print (a + 0 <= 400 ? "met" : "NOT met") }')
AV=$(awk -v a="$A95" 'BEGIN { if (a == "-") print "n/a"; else print (a + 0 <= 400 ? "met" : "NOT met") }')
WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
JANUS_CPU=$(awk -v a="$J0" -v b="$J1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
CHROMIUM_CPU=$(awk -v a="$C0" -v b="$C1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
# Media gained: segments numbered past the first playlist's last, in the second playlist or already slid out of its live
# window (those counted at the second playlist's mean duration), over the wall window.
GAINED=$(awk 'NR == FNR { last = $1; next } { n++; sum += $2; if ($1 > last) { listed += $2; count++ }; top = $1 }
  END { mean = n ? sum / n : 0; gone = (top - last) - count; printf "%.2f", listed + (gone > 0 ? gone * mean : 0) }' "$BENCH_TMP/m0" "$BENCH_TMP/m1")
SPEED=$(awk -v g="$GAINED" -v w="$WALL" 'BEGIN { printf "%.2f", g / w }')
RATIO=$(ratio "$SERVER_CPU" "$PEER_CPU")
pct() { awk -v c="$1" -v w="$WALL" 'BEGIN { printf "%.0f %%", 100 * c / w }'; }

TABLE="| process | CPU-s over ${WALL} s | share of one core |
|---|---|---|
| Janus (VideoRoom: $PARTICIPANTS publishers in, RTP forwarded) | $JANUS_CPU | $(pct "$JANUS_CPU") |
| server + children ($PARTICIPANTS RTP decoders, composition, program encode, HLS) | $SERVER_CPU | $(pct "$SERVER_CPU") |
| Chromium, all its processes ($PARTICIPANTS participants encoding 1280x720 VP8: the senders, not ours) | $CHROMIUM_CPU | $(pct "$CHROMIUM_CPU") |
| peer: plain ffmpeg, the same decode/compose/encode on $PARTICIPANTS VP8 720p clips (-re, ${WINDOW} s) | $PEER_CPU | $(awk -v c="$PEER_CPU" -v w="$WINDOW" 'BEGIN { printf "%.0f %%", 100 * c / w }') |

Host to co-host glass to glass (A's clock read in B's received picture, 640x360 VP8 through Janus, the show on air meanwhile):
p50 **$G50 ms**, p95 **$G95 ms**, max $GMAX ms over $GN frames (target p95 <= 400 ms: $GV); B's jitter buffer $GJIT ms, decode $GDEC ms per frame.
Mouth to ear (a 1 kHz beep at each whole second of A's clock, its onset found in B's received Opus audio; B's speaker excluded):
p50 **$A50 ms**, p95 **$A95 ms**, max $AMAX ms over $AN beeps (target p95 <= 400 ms: $AV); B's audio jitter buffer $AJIT ms.

Server + children / plain ffmpeg: **$RATIO**. Program real-time speed: **${SPEED}x** ($GAINED media s in $WALL wall s; 1.00 keeps up).
The machine ($(nproc) cores) was $BUSY busy over the window. Server peak RSS: $SERVER_RSS MB. Participants' frames encoded: $(tail -1 "$BENCH_TMP/load.out" | grep -o '"framesEncoded":[0-9]*' | cut -d: -f2 | tr '\n' ' ')"
echo "$TABLE"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "Live room: $PARTICIPANTS x 1280x720 WHIP participants composed into a 720p30 program" "$TABLE"

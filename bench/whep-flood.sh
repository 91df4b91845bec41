#!/usr/bin/env bash
# A flood of anonymous WHEP offers beside a real WebRTC viewer (#66, item 1). CLIENTS clients, each from its own
# loopback address (127.0.0.2 and up), POST offers that never connect to one live public channel, as fast as they are
# answered, for DURATION seconds (the finding: 300 such offers from ten addresses held all 200 places for
# Whep:ConnectTimeout, and a viewer 3 s later got 503). DELAY seconds into the flood a real viewer (GStreamer webrtcbin,
# bench/whepload.py, from 127.0.0.1) plays the channel for 8 s.
# Reports: the flood's answers by status; the real viewer's time from its POST to its answer and to its first video
# frame (target: connected, a frame, within 2 s); the server's WHEP sessions (pending, ended to make room) from /metrics;
# and the server's threads and open file descriptors, and Janus's, at the start (the channel warm, one real viewer
# played and left), at their peak, and SETTLE seconds after the flood (target: within 10 % of the start, 15 s after).
#
# Usage: bench/whep-flood.sh            CLIENTS=10 DURATION=10 DELAY=3 SETTLE=15 by default
#        BUILD=0 skips the dotnet build; SERVER_ARGS adds server switches; KEEP_TMP=1 keeps logs; NO_RESULTS=1.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

CLIENTS=${CLIENTS:-10}
DURATION=${DURATION:-10}
DELAY=${DELAY:-3}
SETTLE=${SETTLE:-15}
((CLIENTS >= 1 && CLIENTS <= 50)) || die "CLIENTS must be 1..50"
((DURATION >= 5 && DURATION <= 120)) || die "DURATION must be 5..120 seconds"
((DELAY >= 0 && DELAY < DURATION)) || die "DELAY must be 0..DURATION-1 seconds"
((SETTLE >= 1 && SETTLE <= 120)) || die "SETTLE must be 1..120 seconds"
BENCH_COMMAND="$(dotnet_env)CLIENTS=$CLIENTS DURATION=$DURATION DELAY=$DELAY SETTLE=$SETTLE${SERVER_ARGS+ SERVER_ARGS='$SERVER_ARGS'} bench/whep-flood.sh"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl janus python3-gi gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice gstreamer1.0-plugins-bad gstreamer1.0-plugins-good
bench_init
server_build

realtime_clip

# The server's defaults: the caps under test are Whep:MaxViewersPerNode, the pending caps and the connect timeout as shipped.
export SERVER_ARGS="${SERVER_ARGS---Transcode:Enabled=false}"
server_start "$BENCH_TMP/server"
read -r KEY SLUG < <(create_channel "whep-flood-$RANDOM" false true)
ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$CLIP" -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" \
  >"$BENCH_TMP/publisher.log" 2>&1 &
BENCH_PIDS+=("$!")
wait_until 60 curl -sf -o /dev/null "$HTTP_BASE/live/$SLUG/master.m3u8" || die "no master playlist (publisher: $(tail -3 "$BENCH_TMP/publisher.log"))"
wait_until 30 pgrep -P "$SERVER_PID" -x janus || die "Janus did not start for the real-time channel"
JANUS_PID=$(pgrep -P "$SERVER_PID" -x janus | head -1)
WHEP="$HTTP_BASE/live/$SLUG/whep"

# viewer NAME: one real viewer, 3 s to connect and 5 s of play; prints "answer_ms first_frame_ms receiving".
viewer() {
  timeout --kill-after=10 60 /usr/bin/python3 "$REPO_DIR/bench/whepload.py" --url "$WHEP" --viewers 1 --settle 3 --seconds 5 \
    >"$BENCH_TMP/$1.out" 2>"$BENCH_TMP/$1.err" || true
  field() { tr ' ' '\n' <"$BENCH_TMP/$1.out" | sed -n "s/^$2=//p" | tail -1; }
  echo "$(field "$1" viewer0_answer_ms) $(field "$1" viewer0_first_frame_ms) $(field "$1" receiving)"
}
proc_sample() { # threads fds of PID
  echo "$(awk '/^Threads:/ { print $2 }' "/proc/$1/status") $(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
}
metric() { curl -fsS --max-time 5 "$HTTP_BASE/metrics" 2>/dev/null | awk -v m="$1" 'index($0, m " ") == 1 { printf "%.0f", $2 }'; }

# A real viewer before the flood: it warms what a first viewer costs once, and is the connect time without a flood.
log "a real viewer before the flood"
read -r QUIET_ANSWER QUIET_FRAME QUIET_RECEIVING < <(viewer quiet)
sleep 3
read -r T0 F0 < <(proc_sample "$SERVER_PID"); read -r JT0 JF0 < <(proc_sample "$JANUS_PID")
log "baseline: server $T0 threads, $F0 fds; Janus $JT0 threads, $JF0 fds"

# A real browser's offer (Chromium 156, recvonly, its candidates in it), the same each time: Janus answers it as any
# viewer's, so each 201 holds a session, Janus handle and sockets until it is ended (a made-up offer Janus refuses, 502).
cp "$REPO_DIR/tests/Broadcast.WebRtc.Tests/Data/chromium-156-recvonly-offer.sdp" "$BENCH_TMP/offer.sdp"
# One flooding client from 127.0.0.$1: offers, one after another, until the deadline; one status code a line.
client() {
  while (($(date +%s) < $2)); do
    curl -s -o /dev/null -w '%{http_code}\n' --interface "127.0.0.$1" --max-time 10 \
      -X POST -H 'Content-Type: application/sdp' --data-binary "@$BENCH_TMP/offer.sdp" "$WHEP"
  done
}

log "flood: $CLIENTS addresses, ${DURATION} s; a real viewer ${DELAY} s in"
PEAK_T=$T0 PEAK_F=$F0 PEAK_JF=$JF0 PEAK_PENDING=0
deadline=$(($(date +%s) + DURATION))
flooders=()
for ((i = 2; i < CLIENTS + 2; i++)); do
  client "$i" "$deadline" >"$BENCH_TMP/client$i.codes" &
  flooders+=($!)
done
(sleep "$DELAY"; viewer flood >"$BENCH_TMP/flood-viewer.result") &
FLOOD_VIEWER=$!
while :; do
  running=0
  for p in "${flooders[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
  read -r t f < <(proc_sample "$SERVER_PID"); read -r _ jf < <(proc_sample "$JANUS_PID")
  pending=$(metric broadcast_whep_pending_sessions)
  ((t > PEAK_T)) && PEAK_T=$t; ((f > PEAK_F)) && PEAK_F=$f; ((jf > PEAK_JF)) && PEAK_JF=$jf
  ((${pending:-0} > PEAK_PENDING)) && PEAK_PENDING=$pending
  ((running)) || break
  sleep 0.5
done
requests=$(cat "$BENCH_TMP"/client*.codes | wc -l)
codes=$(cat "$BENCH_TMP"/client*.codes | sort | uniq -c | sort -rn | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
log "flood over: $requests offers ($codes); peak: server $PEAK_T threads, $PEAK_F fds; Janus $PEAK_JF fds; $PEAK_PENDING sessions pending"
wait "$FLOOD_VIEWER" || true
read -r FLOOD_ANSWER FLOOD_FRAME FLOOD_RECEIVING <"$BENCH_TMP/flood-viewer.result"
log "the real viewer during the flood: answered in ${FLOOD_ANSWER} ms, first frame at ${FLOOD_FRAME} ms, receiving: ${FLOOD_RECEIVING}"

# SETTLE s after the flood's end (the viewer's 10 s play may have taken part of it).
sleep "$(awk -v d="$deadline" -v s="$SETTLE" -v n="$EPOCHREALTIME" 'BEGIN { w = d + s - n; print (w > 0 ? w : 0) }')"
read -r T1 F1 < <(proc_sample "$SERVER_PID"); read -r JT1 JF1 < <(proc_sample "$JANUS_PID")
EVICTED=$(metric broadcast_whep_evicted_unconnected_total); REFUSED=$(metric broadcast_whep_refused_at_cap_total)
PENDING1=$(metric broadcast_whep_pending_sessions); VIEWERS1=$(metric broadcast_whep_viewers)

within() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b * 1.10 ? "yes" : "NO") }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.0f %%", (a - b) * 100 / b }'; }
connected=$(awk -v f="$FLOOD_FRAME" -v r="$FLOOD_RECEIVING" 'BEGIN { print (r == 1 && f != "-" && f + 0 <= 2000) ? "yes" : "NO" }')
TABLE="| measure | start | peak during | ${SETTLE} s after | within 10 % |
|---|---|---|---|---|
| server threads | $T0 | $PEAK_T | $T1 ($(pct "$T1" "$T0")) | $(within "$T1" "$T0") |
| server open file descriptors | $F0 | $PEAK_F | $F1 ($(pct "$F1" "$F0")) | $(within "$F1" "$F0") |
| Janus threads / open file descriptors | $JT0 / $JF0 | - / $PEAK_JF | $JT1 / $JF1 ($(pct "$JF1" "$JF0")) | $(within "$JF1" "$JF0") |

$CLIENTS addresses (127.0.0.2 and up) posted $requests WHEP offers that never connect to one live public channel in ${DURATION} s,
answered $codes; at most $PEAK_PENDING sessions pending at once; $EVICTED ended unconnected to make room, $REFUSED refused at a cap
(server defaults: Whep:MaxViewersPerNode, Whep:MaxPendingPerAddress, Whep:MaxPendingSessions, Whep:ConnectTimeout). ${SETTLE} s after the
flood: $VIEWERS1 WebRTC viewers, $PENDING1 pending.
A real viewer (webrtcbin, 127.0.0.1) ${DELAY} s into the flood: answered in ${FLOOD_ANSWER} ms, first video frame ${FLOOD_FRAME} ms after
its POST (before the flood: ${QUIET_ANSWER} ms and ${QUIET_FRAME} ms); connected with a frame within 2 s: $connected."
echo
echo "$TABLE"
if [[ "${NO_RESULTS:-0}" != 1 ]]; then results_append "a WHEP flood of offers that never connect beside a real WebRTC viewer" "$TABLE"; fi

#!/usr/bin/env bash
# Real-time playback: glass-to-glass latency of WHEP (WebRTC through Janus) side by side with LL-HLS on the same stream.
# A live ffmpeg encode (640x360 30 fps, x264 veryfast zerolatency, no B-frames, a GOP of GOP_SECONDS (1; OBS's usual
# is 2): passed through to WebRTC) burns
# its capture clock into the picture (a strip of 20 black/white blocks, the time in ms modulo 2^20) and publishes RTMP
# into a lowLatency channel. Debian's Chromium plays it twice at once: tests/players/whep.html over WHEP and hls.js
# (lowLatencyMode) over LL-HLS; once a second each reads the clock of the frame on screen from a canvas and takes
# now minus it. Both are glass to glass with the publisher's encode included, read the same way, on one machine.
# Reports p50 / p95 / max per player and WHEP's first frame after its POST: for the first viewer and for a second
# viewer right after. The channel is marked real-time (REALTIME=1, the default), so its publish starts Janus and its RTP
# ffmpeg before anyone asks (WhepPrewarm); REALTIME=0 makes it a plain channel, whose first viewer starts both.
# Targets (issue "Real-time viewing"): WHEP p50 <= 0.5 s, p95 <= 0.8 s on loopback; first frame <= 1 s.
#
# Usage: bench/whep.sh                 SECONDS_TO_PLAY=60
#        SECONDS_TO_PLAY=20 bench/whep.sh  a short look; BUILD=0 skips the dotnet build; NO_RESULTS=1 does not append.
#        GOP_SECONDS=2 bench/whep.sh   the encoder's keyframe interval (1..10 s)
#        REALTIME=0 bench/whep.sh      a channel not marked real-time: its first viewer waits for Janus and ffmpeg to start
#        VIA_ORIGIN=1 bench/whep.sh    WHEP from a second, origin-only node that relays the channel from the ingest node
#                                      (Whep:RelayFrom; the compose file's origin replicas); LL-HLS from the ingest node.
#                                      A real-time channel (REALTIME=1) is warmed on the origin too, from the ingest
#                                      node's list of live real-time channels. ORIGIN_ARGS: more switches for the origin
#                                      node (--Janus:StartOnFirstViewer=false, as the compose file's origins).
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

PLAY=${SECONDS_TO_PLAY:-60}
((PLAY >= 10 && PLAY <= 1800)) || die "SECONDS_TO_PLAY must be 10..1800"
GOP=${GOP_SECONDS:-1}
((GOP >= 1 && GOP <= 10)) || die "GOP_SECONDS must be 1..10"
VIA_ORIGIN=${VIA_ORIGIN:-0}
[[ $VIA_ORIGIN == 0 || $VIA_ORIGIN == 1 ]] || die "VIA_ORIGIN must be 0 or 1"
REALTIME=${REALTIME:-1}
[[ $REALTIME == 0 || $REALTIME == 1 ]] || die "REALTIME must be 0 or 1"
BENCH_COMMAND="$(dotnet_env)${SERVER_ARGS:+SERVER_ARGS=\"$SERVER_ARGS\" }${ORIGIN_ARGS:+ORIGIN_ARGS=\"$ORIGIN_ARGS\" }${GOP_SECONDS:+GOP_SECONDS=$GOP }$( ((REALTIME == 0)) && echo "REALTIME=0 " || true)$( ((VIA_ORIGIN == 1)) && echo "VIA_ORIGIN=1 " || true)SECONDS_TO_PLAY=$PLAY bench/whep.sh"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl chromium janus
bench_init
(cd "$REPO_DIR/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in bench/ failed"
(cd "$REPO_DIR/tests/players" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in tests/players failed"

server_build
NODE_TOKEN="bench-node-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
if ((VIA_ORIGIN == 1)); then
  SERVER_ARGS="${SERVER_ARGS---Transcode:Enabled=false} --Playback:NodeToken=$NODE_TOKEN" server_start "$BENCH_TMP/ours"
else
  server_start "$BENCH_TMP/ours"
fi
read -r KEY SLUG < <(create_channel "whep-$RANDOM" true "$([[ $REALTIME == 1 ]] && echo true || echo false)")
WHEP_BASE=$HTTP_BASE
if ((VIA_ORIGIN == 1)); then
  # The compose file's origin replica: no admin token, private playback from the ingest+control node, the same store.
  ingest_base=$HTTP_BASE ingest_rtmp=$RTMP_PORT ingest_token=$ADMIN_TOKEN
  SERVER_ARGS="--Roles=origin --Admin:Token= --Playback:ControlUrl=$ingest_base --Playback:NodeToken=$NODE_TOKEN --Playback:RefreshSeconds=1 \
--Storage:Path=$BENCH_TMP/ours/media --Whep:RelayFrom:0=$ingest_base ${ORIGIN_ARGS:-}" server_start "$BENCH_TMP/origin" no-rtmp
  WHEP_BASE=$HTTP_BASE
  HTTP_BASE=$ingest_base RTMP_PORT=$ingest_rtmp ADMIN_TOKEN=$ingest_token
fi
# The stamp: the strip's pts are set to the wall clock (RTCTIME) so geq's T is the capture time, then back to 0.
stamp="[1]setpts=RTCTIME/(TB*1000000),geq=lum='255*mod(floor(mod(T*1000\,1048576)/pow(2\,floor(X/32)))\,2)':cb=128:cr=128,setpts=PTS-STARTPTS[s];[0][s]vstack,format=yuv420p"
ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i "testsrc2=size=640x328:rate=30" -f lavfi -i "color=c=black:size=640x32:rate=30" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000" -filter_complex "$stamp" -map 2:a -t $((PLAY + 90)) \
  -c:v libx264 -preset veryfast -tune zerolatency -bf 0 -g $((30 * GOP)) -keyint_min $((30 * GOP)) -sc_threshold 0 -b:v 1200k -maxrate 1200k -bufsize 600k \
  -c:a aac -b:a 96k -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" >"$BENCH_TMP/publisher.log" 2>&1 &
BENCH_PIDS+=("$!")
wait_until 60 curl -sf -o /dev/null "$HTTP_BASE/live/$SLUG/master.m3u8" || die "no master playlist (publisher: $(tail -3 "$BENCH_TMP/publisher.log"))"
# The origin learns of a real-time channel from the ingest node's list (asked every 2 s): measure its first viewer once
# the origin holds the channel warm, as a viewer arriving a few seconds into the broadcast finds it.
if ((VIA_ORIGIN == 1 && REALTIME == 1)); then
  wait_until 30 bash -c "curl -fsS '$WHEP_BASE/metrics' | grep -q '^broadcast_whep_relayed_channels 1$'" || die "the origin node did not warm the real-time channel"
fi
log "WHEP and LL-HLS play for $PLAY s"
node "$REPO_DIR/bench/player-latency.mjs" "$WHEP_BASE/live/$SLUG/whep" "$PLAY" --whep --percentiles >"$BENCH_TMP/whep.out" 2>"$BENCH_TMP/whep.err" &
wp=$!
node "$REPO_DIR/bench/player-latency.mjs" "$HTTP_BASE/live/$SLUG/master.m3u8" "$PLAY" --stamp --percentiles >"$BENCH_TMP/hls.out" 2>"$BENCH_TMP/hls.err" &
hp=$!
wait "$wp" || log "WHEP run failed: $(tail -3 "$BENCH_TMP/whep.err")"
wait "$hp" || log "LL-HLS run failed: $(tail -3 "$BENCH_TMP/hls.err")"
# A second viewer right after: Janus and the channel's RTP ffmpeg are running (Whep:IdleStop), so its first frame waits
# for ICE, DTLS and the next keyframe only.
node "$REPO_DIR/bench/player-latency.mjs" "$WHEP_BASE/live/$SLUG/whep" 10 --whep --percentiles >"$BENCH_TMP/whep-warm.out" 2>"$BENCH_TMP/whep-warm.err" \
  || log "second WHEP run failed: $(tail -3 "$BENCH_TMP/whep-warm.err")"
read -r _ _ _ _ _ wwarm _ <<<"$(cat "$BENCH_TMP/whep-warm.out" 2>/dev/null || true) - - - - - -"
read -r wp50 wp95 wmax wn _ wfirst _ <<<"$(cat "$BENCH_TMP/whep.out" 2>/dev/null || true) - - - - - -"
read -r hp50 hp95 hmax hn hst _ <<<"$(cat "$BENCH_TMP/hls.out" 2>/dev/null || true) - - - - - -"
wv=$(awk -v a="$wp50" -v b="$wp95" 'BEGIN { if (a == "-") print "n/a"; else print ((a + 0 <= 0.5 && b + 0 <= 0.8) ? "met" : "NOT met") }')
# Where a first frame's time went on the server: offer to answer (8201), answer to a working connection (8207).
for f in "$BENCH_TMP"/*/server.log; do
  grep -hoE "session [a-zA-Z0-9_-]+ (started .*answered [0-9]+ ms after its offer|connected [0-9]+ ms after its answer)" "$f" 2>/dev/null \
    | sed -E 's/^session ([a-zA-Z0-9_-]{6})[a-zA-Z0-9_-]*/session \1…/; s/ \(Janus handle [0-9]+, [a-z-]+\)//' | while read -r line; do log "$(basename "$(dirname "$f")"): $line"; done || true
done
janus_cpu=$(ps -C janus -o times= 2>/dev/null | head -1 | tr -d ' ' || true)
log "WHEP p50 $wp50 p95 $wp95 max $wmax ($wn samples, first frame $wfirst ms cold, $wwarm ms warm) $wv; LL-HLS p50 $hp50 p95 $hp95 max $hmax ($hn samples, $hst stalls)"

# SERVER_ARGS may start Janus with the server (--Janus:StartOnFirstViewer=false): then only the RTP ffmpeg is cold.
cold="Janus and ffmpeg cold"
[[ "${SERVER_ARGS:-}" == *StartOnFirstViewer=false* ]] && cold="Janus running since boot, ffmpeg cold"
[[ $REALTIME == 1 ]] && cold="first viewer of a real-time channel: Janus and ffmpeg started at its publish"
whep_path="WebRTC via Janus NoSIP, H.264 passed through"
((VIA_ORIGIN == 1)) && cold="relay and ffmpeg cold on the origin node, Janus $([[ "${ORIGIN_ARGS:-}" == *StartOnFirstViewer=false* ]] && echo "running since boot" || echo cold)"
((VIA_ORIGIN == 1 && REALTIME == 1)) && cold="first viewer on the origin of a real-time channel: its relay, ffmpeg and Janus started there at its publish" whep_path="from an origin-only node relaying the channel from the ingest node, its Janus NoSIP, H.264 passed through"
table="| stream, player | glass-to-glass p50 / p95 / max s | samples | first frame after POST | stalls after 1 s | target |
|---|---|---|---|---|---|
| WHEP, tests/players/whep.html ($whep_path) | $wp50 / $wp95 / $wmax | $wn | $wfirst ms ($cold), $wwarm ms (a second viewer) | - | p50 <= 0.5, p95 <= 0.8: $wv |
| LL-HLS, hls.js (lowLatencyMode) | $hp50 / $hp95 / $hmax | $hn | - | $hst | - |

$( ((VIA_ORIGIN == 1)) && echo "An ingest+control node and an origin-only node (Whep:RelayFrom), ladder off" || echo "One server (ladder off)"), one lowLatency channel; publisher: a live x264 encode (640x360 30 fps, veryfast, zerolatency,
no B-frames, $GOP s GOP, AAC) with the capture clock burned into the picture, read back from a canvas in Debian's Chromium
once a second for ${PLAY} s per player, both players at once. Janus CPU time at the end: ${janus_cpu:-?} (one viewer)."
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "real-time playback: WHEP vs LL-HLS, ${PLAY} s" "$table"

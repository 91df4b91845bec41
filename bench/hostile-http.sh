#!/usr/bin/env bash
# Hostile clients on every anonymous HTTP route, beside a real publisher and a real viewer. CLIENTS clients (each from
# its own loopback address, 127.0.0.2 and up, so per-address limits are not what stops them) each run ROUNDS rounds of
# every route below, at most DURATION seconds: WHEP offers for made-up and real channels, knocks (public, private,
# made-up, oversized), knock polls, the watch page's state poll and chat replay, chat hub negotiations, sign-in posts,
# private playback with forged tokens, playlists of made-up channels. Meanwhile ffmpeg publishes a 720p clip in real
# time and a viewer polls its playlist once a second.
# Reports the server's threads, open file descriptors and RSS at the start (the publisher running), at their peak, and
# SETTLE seconds after the attack (Whep:IdleStop + 5 s by default); the answers by status; the publisher's health (its
# playlist's longest stall) and ffmpeg's exit.
#
# Usage: bench/hostile-http.sh            CLIENTS=10 ROUNDS=40 DURATION=60 by default
#        BUILD=0 skips the dotnet build; SERVER_ARGS adds server switches; KEEP_TMP=1 keeps logs; NO_RESULTS=1.
#        GCDUMP=1 also takes a heap dump of the server (dotnet-gcdump, installed from NuGet into the bench's folder) at the
#        start and at the end: each forces a full collection first, so the two say what the attack left alive, by type,
#        apart from garbage not yet collected (and the RSS right after each says what a collection gives back).
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

CLIENTS=${CLIENTS:-10}
ROUNDS=${ROUNDS:-40}
DURATION=${DURATION:-60}
IDLE_STOP=${IDLE_STOP:-10}
CONNECT_TIMEOUT=20 # Whep:ConnectTimeout's default: an offer whose viewer never connects holds its session this long
SETTLE=${SETTLE:-$((IDLE_STOP + 5))}
SETTLE_LONG=$((CONNECT_TIMEOUT + IDLE_STOP + 5))
((CLIENTS >= 1 && CLIENTS <= 50)) || die "CLIENTS must be 1..50"
((ROUNDS >= 1 && ROUNDS <= 1000)) || die "ROUNDS must be 1..1000"
((DURATION >= 5 && DURATION <= 600)) || die "DURATION must be 5..600 seconds"
BENCH_COMMAND="$(dotnet_env)${GCDUMP:+GCDUMP=$GCDUMP }CLIENTS=$CLIENTS ROUNDS=$ROUNDS DURATION=$DURATION${SERVER_ARGS+ SERVER_ARGS='$SERVER_ARGS'} bench/hostile-http.sh"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl
bench_init
ensure_clip
server_build
export SERVER_ARGS="${SERVER_ARGS---Transcode:Enabled=false} --Whep:IdleStop=00:00:$(printf '%02d' "$IDLE_STOP")"
server_start "$BENCH_TMP/server"

read -r KEY SLUG < <(create_channel "hostile-http-public")
PRIVATE=$(curl -fsS -X POST "$HTTP_BASE/api/channels" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"hostile-http-private","privatePlayback":true}' | json_field slug)
[[ -n "$PRIVATE" ]] || die "no private channel"

log "publisher: $CLIP to $SLUG, looping"
ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$CLIP" -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" \
  >"$BENCH_TMP/publisher.log" 2>&1 &
PUBLISHER=$!
BENCH_PIDS+=("$PUBLISHER")
PLAYLIST="$HTTP_BASE/live/$SLUG/source/index.m3u8"
wait_until 60 curl -fsS -o /dev/null "$PLAYLIST" || die "the publisher's playlist never appeared"

# The real viewer: the playlist's newest segment, once a second; the longest time it did not move is the stall.
viewer() {
  local last="" since now stall=0
  since=$(date +%s.%N)
  while [[ ! -f "$BENCH_TMP/stop-viewer" ]]; do
    now=$(date +%s.%N)
    newest=$(curl -fsS --max-time 5 "$PLAYLIST" 2>/dev/null | grep -v '^#' | tail -1 || true)
    if [[ -n "$newest" && "$newest" != "$last" ]]; then last=$newest; since=$now; fi
    stall=$(awk -v a="$stall" -v n="$now" -v s="$since" 'BEGIN { d = n - s; print (d > a ? d : a) }')
    echo "$stall" >"$BENCH_TMP/viewer.stall"
    sleep 1
  done
}
viewer &
VIEWER=$!
BENCH_PIDS+=("$VIEWER")

proc_sample() { # threads fds rss_kb of the server process
  local threads rss fds
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$SERVER_PID/status")
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
  fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  echo "$threads $fds $rss"
}



OFFER=$'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\na=recvonly\r\n'
printf '%s' "$OFFER" >"$BENCH_TMP/offer.sdp"
head -c 102400 /dev/zero | tr '\0' 'a' | sed 's/^/{"name":"/; s/$/"}/' >"$BENCH_TMP/big.json"

# One hostile client: every route, ROUNDS times, from 127.0.0.$1, until the deadline. Prints one status code a line.
client() {
  local me="127.0.0.$1" deadline=$2 r
  local c=(curl -s -o /dev/null -w '%{http_code}\n' --interface "$me" --max-time 10)
  for ((r = 0; r < ROUNDS; r++)); do
    (($(date +%s) < deadline)) || break
    "${c[@]}" -X POST -H 'Content-Type: application/sdp' --data-binary "@$BENCH_TMP/offer.sdp" "$HTTP_BASE/live/nochannel$1x$r/whep"
    "${c[@]}" -X POST -H 'Content-Type: application/sdp' --data-binary "@$BENCH_TMP/offer.sdp" "$HTTP_BASE/live/$SLUG/whep"
    "${c[@]}" -X OPTIONS "$HTTP_BASE/live/$SLUG/whep"
    "${c[@]}" -X POST -H 'Content-Type: application/json' -d '{"name":"hostile"}' "$HTTP_BASE/room/$SLUG/knocks"
    "${c[@]}" -X POST -H 'Content-Type: application/json' -d '{"name":"hostile"}' "$HTTP_BASE/room/$PRIVATE/knocks"
    "${c[@]}" -X POST -H 'Content-Type: application/json' --data-binary "@$BENCH_TMP/big.json" "$HTTP_BASE/room/$SLUG/knocks"
    "${c[@]}" -H 'Authorization: Bearer made-up' "$HTTP_BASE/room/$SLUG/knocks/made-up$r"
    "${c[@]}" "$HTTP_BASE/watch/$SLUG?handler=State"
    "${c[@]}" "$HTTP_BASE/watch/nochannel$1x$r?handler=State"
    "${c[@]}" "$HTTP_BASE/watch/$SLUG?handler=ChatReplay&recording=made-up$r"
    "${c[@]}" -X POST "$HTTP_BASE/chat/hub/negotiate?negotiateVersion=1"
    "${c[@]}" -X POST -d "UserName=admin&Password=wrong$r" "$HTTP_BASE/signin"
    "${c[@]}" "$HTTP_BASE/live/$PRIVATE/master.m3u8?token=bpt2.forged$r"
    "${c[@]}" "$HTTP_BASE/live/nochannel$1x$r/master.m3u8"
  done
}

metric() { curl -fsS --max-time 5 "$HTTP_BASE/metrics" 2>/dev/null | awk -v m="$1" 'index($0, m " ") == 1 { printf "%.0f", $2 / 1048576 }'; }

# One round of every route before the baseline: what the first request of a route costs once (code compiled on first
# use, pages and services made on first use) is not what an attack leaves behind. Then the publish settles.
ROUNDS=1 client 2 $(($(date +%s) + 30)) >/dev/null
sleep 8
# GCDUMP=1: what is alive (a full collection first), by type, and the RSS right after.
GCDUMP_TOOL=""
if [[ "${GCDUMP:-0}" == 1 ]]; then
  dotnet tool install --tool-path "$BENCH_TMP/tools" dotnet-gcdump >/dev/null || die "could not install dotnet-gcdump"
  GCDUMP_TOOL="$BENCH_TMP/tools/dotnet-gcdump"
fi
heap_dump() { # name: writes $BENCH_TMP/$name.report and prints "live_mb rss_mb_after"
  "$GCDUMP_TOOL" collect -p "$SERVER_PID" -o "$BENCH_TMP/$1.gcdump" >/dev/null 2>&1 || { echo "? ?"; return; }
  "$GCDUMP_TOOL" report "$BENCH_TMP/$1.gcdump" >"$BENCH_TMP/$1.report" 2>&1 || true
  local live rss
  live=$(awk '/GC Heap bytes/ { gsub(",", "", $1); printf "%.1f", $1 / 1048576; exit }' "$BENCH_TMP/$1.report")
  rss=$(awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status")
  echo "$live $rss"
}

read -r T0 F0 R0 < <(proc_sample)
H0=$(metric broadcast_gc_heap_bytes); C0=$(metric broadcast_gc_committed_bytes)
if [[ -n "$GCDUMP_TOOL" ]]; then read -r LIVE0 RSSGC0 < <(heap_dump start); log "start: ${LIVE0} MB alive after a full collection, RSS then ${RSSGC0} MB"; fi
log "baseline (after one warm-up round): $T0 threads, $F0 fds, $((R0 / 1024)) MB RSS (managed heap ${H0:-?} MB, GC committed ${C0:-?} MB)"

log "attack: $CLIENTS clients x $ROUNDS rounds x 14 routes, at most ${DURATION}s"
PEAK_T=$T0 PEAK_F=$F0 PEAK_R=$R0
deadline=$(($(date +%s) + DURATION))
started=$(date +%s.%N)
attackers=()
for ((i = 2; i < CLIENTS + 2; i++)); do
  client "$i" "$deadline" >"$BENCH_TMP/client$i.codes" &
  attackers+=($!)
done
while :; do
  running=0
  for p in "${attackers[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
  read -r t f r < <(proc_sample)
  ((t > PEAK_T)) && PEAK_T=$t; ((f > PEAK_F)) && PEAK_F=$f; ((r > PEAK_R)) && PEAK_R=$r
  ((running)) || break
  sleep 0.5
done
attack_s=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
requests=$(cat "$BENCH_TMP"/client*.codes | wc -l)
codes=$(cat "$BENCH_TMP"/client*.codes | sort | uniq -c | sort -rn | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
during_stall=$(cat "$BENCH_TMP/viewer.stall")
log "attack over after ${attack_s}s: $requests requests ($codes); peak $PEAK_T threads, $PEAK_F fds, $((PEAK_R / 1024)) MB"

log "settling ${SETTLE}s (Whep:IdleStop + 5 s), then to ${SETTLE_LONG}s (+ Whep:ConnectTimeout)"
sleep "$SETTLE"
read -r T1 F1 R1 < <(proc_sample)
sleep $((SETTLE_LONG - SETTLE))
read -r T2 F2 R2 < <(proc_sample)
H2=$(metric broadcast_gc_heap_bytes); C2=$(metric broadcast_gc_committed_bytes)
GCDUMP_LINE=""
if [[ -n "$GCDUMP_TOOL" ]]; then
  read -r LIVE2 RSSGC2 < <(heap_dump end)
  log "end: ${LIVE2} MB alive after a full collection, RSS then ${RSSGC2} MB; the types that grew most:"
  # Each report line: size, count, type (the totals above them, "GC Heap bytes/objects", have no count). The growth by
  # type between the two dumps, largest first.
  awk 'FNR == 1 { file++ } { gsub(",", "", $1); gsub(",", "", $2) } $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && NF >= 3 { t = $3; for (i = 4; i <= NF; i++) t = t " " $i; size[file, t] = $1 }
       END { for (k in size) { split(k, p, SUBSEP); if (p[1] == 2) { d = size[2, p[2]] - size[1, p[2]]; if (d > 0) printf "%d\t%s\n", d, p[2] } } }' \
    "$BENCH_TMP/start.report" "$BENCH_TMP/end.report" | sort -rn >"$BENCH_TMP/growth.txt"
  # Read from a file, not a pipe: head leaving early would fail the pipeline under pipefail.
  head -15 "$BENCH_TMP/growth.txt" >&2
  GCDUMP_LINE="
Alive after a forced full collection (dotnet-gcdump): ${LIVE0} MB at the start (RSS right after ${RSSGC0} MB), ${LIVE2} MB at the end (RSS right after ${RSSGC2} MB)."
fi
touch "$BENCH_TMP/stop-viewer"
wait "$VIEWER" 2>/dev/null || true
publisher_alive=$(kill -0 "$PUBLISHER" 2>/dev/null && echo yes || echo no)
stall=$(cat "$BENCH_TMP/viewer.stall")

within() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b * 1.10 ? "yes" : "NO") }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.0f %%", (a - b) * 100 / b }'; }
TABLE="| measure | start | peak during | ${SETTLE} s after | within 10 % | ${SETTLE_LONG} s after | within 10 % |
|---|---|---|---|---|---|---|
| threads | $T0 | $PEAK_T | $T1 ($(pct "$T1" "$T0")) | $(within "$T1" "$T0") | $T2 ($(pct "$T2" "$T0")) | $(within "$T2" "$T0") |
| open file descriptors | $F0 | $PEAK_F | $F1 ($(pct "$F1" "$F0")) | $(within "$F1" "$F0") | $F2 ($(pct "$F2" "$F0")) | $(within "$F2" "$F0") |
| RSS MB | $((R0 / 1024)) | $((PEAK_R / 1024)) | $((R1 / 1024)) ($(pct "$R1" "$R0")) | $(within "$R1" "$R0") | $((R2 / 1024)) ($(pct "$R2" "$R0")) | $(within "$R2" "$R0") |

Managed heap after the last GC / GC committed: ${H0:-?} / ${C0:-?} MB at the start, ${H2:-?} / ${C2:-?} MB ${SETTLE_LONG} s after (the
baseline follows one warm-up round of every route, so code compiled and services made on first use are in it).
$CLIENTS hostile clients (127.0.0.2 and up) x $ROUNDS rounds x 14 anonymous routes: $requests requests in ${attack_s} s, answered $codes.
The real publisher (ffmpeg -re, 720p30 2.5 Mb/s, looping) still publishing after the attack: $publisher_alive; its playlist's longest
stall seen by the real viewer (polled once a second): $(printf '%.1f' "$stall") s (during the attack $(printf '%.1f' "$during_stall") s).$GCDUMP_LINE"
echo
echo "$TABLE"
if [[ "${NO_RESULTS:-0}" != 1 ]]; then results_append "hostile HTTP clients on every anonymous route beside a real publisher" "$TABLE"; fi

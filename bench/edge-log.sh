#!/usr/bin/env bash
# The cost of the edge's audience log (docs/scale-out.md "The audience behind the edge"): infra/nginx-edge.conf twice in
# front of our node, one edge sending its audience log to the node (Origin:EdgeLogPort, one UDP datagram per answer) and
# one without it, and wrk asking each for the hot live segment and the live playlist (cache hits, as nearly every viewer
# request to an edge is), alternating in one run. The peer for the node's side is the node answering the same requests
# itself (wrk straight at it): what each of those viewer requests cost it before an edge answered them. Every request
# carries the CMCD query argument hls.js writes, from 10,000 playback sessions (the node keeps and updates that many).
#
# Reports: the edge's req/s and its own CPU (master and workers) per 1,000 answers with the log over without (the edge's
# cost: on this machine's two cores the req/s also pay for the node receiving the lines beside it); the lines the node counted over the requests
# the edge answered (datagrams lost on the way, or dropped by a node that could not keep up, are viewers' requests left
# uncounted); and the node's own CPU per logged request against its CPU per request it serves (its process only): from the
# wrk windows (less what it spends in the quiet edge's window: packaging the live channel, the edge's cache misses), and
# from lines replayed straight to its port after an idle window, which the background's noise does not swamp.
#
# Usage: bench/edge-log.sh
#        ROUNDS=3 WRK_SECONDS=10 CONNECTIONS=64 THREADS=2 bench/edge-log.sh
#        BUILD=0 skips the dotnet build; KEEP_TMP=1 keeps logs.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

wrk_settings
BENCH_COMMAND="$(dotnet_env)ROUNDS=$ROUNDS WRK_SECONDS=$WRK_SECONDS CONNECTIONS=$CONNECTIONS THREADS=$THREADS bench/edge-log.sh"

"$REPO_DIR/scripts/deps.sh" nginx wrk ffmpeg curl
bench_init
ensure_clip
server_build

LOG_PORT=$(free_port)
SRV_DIR="$BENCH_TMP/ours"
SERVER_ARGS="--Transcode:Enabled=false --Origin:EdgeLogPort=$LOG_PORT --Origin:EdgeLogAddress=127.0.0.1 --Origin:EdgeLogSources=127.0.0.1"
server_start "$SRV_DIR"
read -r KEY SLUG < <(create_channel "edge-log-bench-$RANDOM")
publish_clip "$KEY" "$SLUG" 900

edge_start "$HTTP_PORT" "$REPO_DIR/infra/nginx-edge.conf" edge-quiet
QUIET_BASE="http://127.0.0.1:$EDGE_PORT"; QUIET_PID=$EDGE_PID
edge_start "$HTTP_PORT" "$REPO_DIR/infra/nginx-edge.conf" edge-logging "$LOG_PORT"
LOGGING_BASE="http://127.0.0.1:$EDGE_PORT"; LOGGING_PID=$EDGE_PID
grep -q "syslog:server=127.0.0.1:$LOG_PORT" "$BENCH_TMP/edge-logging/nginx.conf" || die "the logging edge's config has no audience log"
! grep -q "syslog:server" "$BENCH_TMP/edge-quiet/nginx.conf" || die "the quiet edge's config kept the audience log"

# The hot segment: the newest listed, re-picked each round (a live segment leaves the window ~12 s after it is listed).
pick_hot() {
  local seg
  seg=$(curl -fsS "$PLAYLIST_URL" | grep -v '^#' | grep -v '^[[:space:]]*$' | tail -1 || true)
  [[ -n "$seg" ]] || die "no segment in the playlist"
  SEG_PATH="/live/$SLUG/source/$seg"
  PL_PATH="/live/$SLUG/source/index.m3u8"
}

# hls.js's CMCD query argument, each wrk connection cycling through 5,000 session ids of its thread's own.
CMCD_LUA="$BENCH_TMP/cmcd.lua"
cmcd_lua "$CMCD_LUA"

# The node's process CPU (ticks; its children, such as the thumbnail ffmpeg, are not in it) and its audience-log counts.
node_ticks() { awk '{ i = index($0, ") "); split(substr($0, i + 2), f, " "); print f[12] + f[13] }' "/proc/$SERVER_PID/stat"; }
# An edge's CPU: its master and workers (ticks).
edge_ticks() {
  local p
  for p in "$1" $(descendants "$1"); do cat "/proc/$p/stat" 2>/dev/null || true; done \
    | awk '{ i = index($0, ") "); split(substr($0, i + 2), f, " "); t += f[12] + f[13] } END { print t + 0 }'
}
edge_lines() { # -> "counted other" (other: ignored, refused, malformed, over the channel cap)
  curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" "$HTTP_BASE/metrics" | awk '
    /^broadcast_edge_log_lines_total\{result="counted"\}/ { c = $2 }
    /^broadcast_edge_log_lines_total\{/ && !/result="counted"/ { o += $2 }
    END { printf "%d %d\n", c, o }'
}
wrk_requests() { awk '/ requests in / { print $1 }' "$BENCH_TMP/wrk-$1.txt"; }

# The node's own cost per line, measured apart from the edges and wrk (the node's background work differs between their
# windows by more than a segment row's lines cost): lines as the logging edge writes them (the live playlist with hls.js's
# CMCD argument, 10,000 sessions) sent straight to the node's port at REPLAY_RATE a second. Run before any wrk round, so the
# first window, idle, holds only the node's background (packaging the live channel); every window is one 10 s audience
# bucket from its middle to the next one's, so each holds one write of the bucket's viewers (10,000 sessions once lines
# came: part of what counting them costs, as it is of serving them).
REPLAY_RATE=${REPLAY_RATE:-20000}
REPLAY_SECONDS=10
replay() {
  python3 - "$LOG_PORT" "$SLUG" "$REPLAY_RATE" "$REPLAY_SECONDS" <<'PY'
import socket, sys, time
port, slug, rate, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
frame = '<190>Dec  1 06:00:00 broadcast_edge: '
line = ('{"a":"127.0.0.1","u":"wrk","r":"/live/%s/source/index.m3u8?CMCD=bl%%3D21300%%2Cbr%%3D3200%%2Cmtp%%3D48100%%2Cot%%3Dv'
        '%%2Csf%%3Dh%%2Csid%%3D%%22bench-%d%%22%%2Cst%%3Dl","s":"200","cq":"","co":"","cs":"","cx":""}')
lines = [(frame + line % (slug, i)).encode() for i in range(10000)]
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start, sent = time.monotonic(), 0
while (elapsed := time.monotonic() - start) < seconds:
    while sent < int(elapsed * rate):
        out.sendto(lines[sent % len(lines)], ("127.0.0.1", port))
        sent += 1
    time.sleep(0.002)
print(sent)
PY
}
# Waits for the middle of an audience bucket (5 s past a multiple of 10 s).
to_bucket_middle() { sleep "$(awk -v t="$EPOCHREALTIME" 'BEGIN { d = 5 - (t % 10); if (d < 0.05) d += 10; printf "%.3f", d }')"; }
replay_rows=""
to_bucket_middle
t0=$(node_ticks); sleep "$REPLAY_SECONDS"; idle=$(($(node_ticks) - t0))
declare -A RSUM=()
for ((r = 1; r <= ROUNDS; r++)); do
  to_bucket_middle
  read -r counted0 _ < <(edge_lines)
  log "round $r: $REPLAY_RATE lines a second straight to the node for $REPLAY_SECONDS s"
  t1=$(node_ticks); sent=$(replay); t2=$(node_ticks)
  sleep 1
  read -r counted1 _ < <(edge_lines)
  n=$((counted1 - counted0))
  us=$(awk -v b="$((t2 - t1))" -v i="$idle" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { if (n == 0) print "-"; else printf "%.1f", (b - i) / hz * 1e6 / n }')
  log "  sent $sent, counted $n, node CPU $((t2 - t1)) ticks against $idle idle: $us us a line"
  replay_rows+="| $r | $sent | $n | $(awk -v t="$((t2 - t1))" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }') | $us |"$'\n'
  [[ $us != - ]] && { RSUM[us]=$(awk -v a="${RSUM[us]:-0}" -v b="$us" 'BEGIN { print a + b }'); RSUM[n]=$((${RSUM[n]:-0} + 1)); }
done
replay_us=$(awk -v s="${RSUM[us]:-}" -v n="${RSUM[n]:-0}" 'BEGIN { if (n == 0) print "-"; else printf "%.1f", s / n }')
idle_s=$(awk -v t="$idle" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')

rows=""
declare -A SUM=() CNT=()
for ((r = 1; r <= ROUNDS; r++)); do
  pick_hot
  for what in segment playlist; do
    path=$SEG_PATH; [[ $what == playlist ]] && path=$PL_PATH
    declare -A rps=() ticks=() reqs=() lines=() eticks=()
    valid=1
    for side in quiet logging node; do
      case $side in quiet) base=$QUIET_BASE; edge=$QUIET_PID ;; logging) base=$LOGGING_BASE; edge=$LOGGING_PID ;; node) base=$HTTP_BASE; edge="" ;; esac
      read -r counted0 other0 < <(edge_lines)
      t0=$(node_ticks); e0=0; [[ -n $edge ]] && e0=$(edge_ticks "$edge")
      log "round $r: wrk $what on $side ($base$path)"
      read -r got lat bad errs < <(run_wrk "$r-$what-$side" "$base$path" "$CMCD_LUA")
      t1=$(node_ticks); e1=0; [[ -n $edge ]] && e1=$(edge_ticks "$edge")
      # Datagrams still in the node's socket buffer are counted within moments of the last answer.
      sleep 1
      read -r counted1 other1 < <(edge_lines)
      note=""
      if ((bad > 0 || errs > 0)); then valid=0; note=" (invalid)"; log "  WARNING: $bad non-2xx responses, $errs socket errors: row left out"; fi
      rps[$side]=$got; ticks[$side]=$((t1 - t0)); eticks[$side]=$((e1 - e0)); reqs[$side]=$(wrk_requests "$r-$what-$side"); lines[$side]=$((counted1 - counted0))
      log "  $got req/s, ${reqs[$side]} requests, node CPU $(awk -v t="${ticks[$side]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }') s, lines counted ${lines[$side]}, other $((other1 - other0))"
      rows+="| $r | $what | $side | $got$note | ${reqs[$side]} | $(awk -v t="${eticks[$side]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }') | $(awk -v t="${ticks[$side]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }') | ${lines[$side]} | $((other1 - other0)) |"$'\n'
    done
    if ((valid)); then
      # Per 1,000 requests, of the node's CPU beyond the quiet edge's window (same length, same live channel).
      log_ms=$(awk -v l="${ticks[logging]}" -v q="${ticks[quiet]}" -v n="${reqs[logging]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (l - q) / hz * 1000 / n * 1000 }')
      edge_quiet_ms=$(awk -v t="${eticks[quiet]}" -v n="${reqs[quiet]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz * 1000 / n * 1000 }')
      edge_log_ms=$(awk -v t="${eticks[logging]}" -v n="${reqs[logging]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz * 1000 / n * 1000 }')
      node_ms=$(awk -v l="${ticks[node]}" -v q="${ticks[quiet]}" -v n="${reqs[node]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (l - q) / hz * 1000 / n * 1000 }')
      for k in "rps-quiet:${rps[quiet]}" "rps-logging:${rps[logging]}" "rps-node:${rps[node]}" "log-ms:$log_ms" "node-ms:$node_ms" "edge-quiet-ms:$edge_quiet_ms" "edge-log-ms:$edge_log_ms" \
        "counted:${lines[logging]}" "answered:${reqs[logging]}"; do
        SUM["$what-${k%%:*}"]=$(awk -v a="${SUM["$what-${k%%:*}"]:-0}" -v b="${k#*:}" 'BEGIN { print a + b }')
      done
      CNT[$what]=$((${CNT[$what]:-0} + 1))
    fi
    unset rps ticks reqs lines eticks
  done
done

mean() { awk -v s="${SUM["$1"]:-}" -v n="${CNT[${1%%-*}]:-0}" -v f="${2:-%.0f}" 'BEGIN { if (s == "" || n == 0) print "-"; else printf f "\n", s / n }'; }
summary=""
for what in segment playlist; do
  q=$(mean "$what-rps-quiet"); l=$(mean "$what-rps-logging"); n=$(mean "$what-rps-node")
  lm=$(mean "$what-log-ms" "%.3f"); nm=$(mean "$what-node-ms" "%.3f")
  eq=$(mean "$what-edge-quiet-ms" "%.3f"); el=$(mean "$what-edge-log-ms" "%.3f")
  share=$(awk -v c="${SUM["$what-counted"]:-0}" -v a="${SUM["$what-answered"]:-0}" 'BEGIN { if (a == 0) print "-"; else printf "%.3f", c / a }')
  summary+="| $what | ${CNT[$what]:-0} | $q | $l | $(ratio "$l" "$q") | $eq | $el | **$(ratio "$el" "$eq")** | $share | $n | $lm | $nm | **$(ratio "$lm" "$nm")** |"$'\n'
done

table="| object | valid rounds | edge req/s, no log | edge req/s, audience log | log / no log | edge CPU ms per 1,000, no log | edge CPU ms per 1,000, log | log / no log | lines counted / edge answers | node req/s (peer) | node CPU ms per 1,000 logged | node CPU ms per 1,000 served (peer) | logged / served |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${summary}
Hot segment (newest listed, re-picked each round; last one): \`$SEG_PATH\`; playlist: \`$PL_PATH\`. One publisher streams to the node
throughout. wrk -t$THREADS -c$CONNECTIONS -d${WRK_SECONDS}s per row with hls.js's CMCD query argument (10,000 sessions), $ROUNDS
round(s), the quiet edge, the logging edge and the node alternating; means over valid rounds above. Node CPU: its own process, less
its CPU in the quiet edge's window of the same round.

The node alone, lines sent straight to its port ($REPLAY_RATE a second, one ${REPLAY_SECONDS} s audience bucket a round, before the
wrk rounds; its CPU in an idle bucket first: $idle_s s): **$replay_us µs of its CPU a line** (mean of the rounds below), against **$(mean playlist-node-ms %.1f) µs a served playlist** and $(mean segment-node-ms %.1f) µs a served
segment (the rows above, the peer).

| round | lines sent | lines counted | node CPU s, replaying | µs a line |
|---|---|---|---|---|
${replay_rows}
| round | object | side | req/s | requests | edge CPU s | node CPU s | lines counted | lines not counted |
|---|---|---|---|---|---|---|---|---|
${rows}"
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "edge audience log: its cost at the edge and on the node" "$table"

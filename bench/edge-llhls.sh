#!/usr/bin/env bash
# LL-HLS viewers behind the CDN edge: how much later than at the origin each viewer learns of a part and receives it,
# and how many requests for the live edge reach the origin. Two edges in front of one origin, side by side in one run:
# the peer is infra/nginx-edge.conf as it was at PEER_REV, "ours" is the working tree's. On each, VIEWERS simulated
# viewers (bench/llhls-viewers.mjs) follow the source rendition's playlist as hls.js and Shaka do in low-latency mode
# (blocking reloads, then the newly listed parts); half of them also ask for the preload-hinted part before it exists,
# as Shaka does. A probe viewer at the origin marks when each part could first be had. Then VIEWERS concurrent GETs of
# an LL-DASH segment before it is written, through ours: how many reach the origin.
#
# Usage: bench/edge-llhls.sh                       SECONDS=60 VIEWERS=10 (per edge)
#        PEER_REV=<commit> the edge configuration to compare with (default: the last one whose LL locations waited on
#        nginx's cache lock); BUILD=0 skips the dotnet build; NO_RESULTS=1 does not append to RESULTS.md.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

SECONDS_TO_RUN=${SECONDS_TO_RUN:-60}
VIEWERS=${VIEWERS:-10}
PEER_REV=${PEER_REV:-6278375}
((SECONDS_TO_RUN >= 10 && SECONDS_TO_RUN <= 600)) || die "SECONDS_TO_RUN must be 10..600"
((VIEWERS >= 2 && VIEWERS <= 100)) || die "VIEWERS must be 2..100"
BENCH_COMMAND="$(dotnet_env)SECONDS_TO_RUN=$SECONDS_TO_RUN VIEWERS=$VIEWERS PEER_REV=$PEER_REV bench/edge-llhls.sh"

"$REPO_DIR/scripts/deps.sh" nginx ffmpeg curl
bench_init
git -C "$REPO_DIR" show "$PEER_REV:infra/nginx-edge.conf" >"$BENCH_TMP/peer-edge.conf" || die "no infra/nginx-edge.conf at $PEER_REV"

testsrc_clip 60 30
server_build
server_start "$BENCH_TMP/ours"
read -r KEY SLUG < <(create_channel "edge-llhls-$RANDOM" true)
ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$LCLIP" -t $((SECONDS_TO_RUN + 60)) -c copy -f flv \
  "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" >"$BENCH_TMP/pub.log" 2>&1 &
BENCH_PIDS+=($!)
PLAYLIST="live/$SLUG/source/index.m3u8"
wait_until 60 curl -sf -o /dev/null "$HTTP_BASE/$PLAYLIST" || die "no low-latency playlist at $HTTP_BASE/$PLAYLIST"

edge_start "$HTTP_PORT" "$BENCH_TMP/peer-edge.conf" edge-peer
PEER_PORT=$EDGE_PORT PEER_DIR=$EDGE_DIR
edge_start "$HTTP_PORT" "$REPO_DIR/infra/nginx-edge.conf" edge-ours
OURS_PORT=$EDGE_PORT OURS_DIR=$EDGE_DIR

half=$((VIEWERS / 2))
log "$VIEWERS viewers on each edge for $SECONDS_TO_RUN s"
node "$REPO_DIR/bench/llhls-viewers.mjs" "$SECONDS_TO_RUN" "$HTTP_BASE/$PLAYLIST" \
  "peer-parts=http://127.0.0.1:$PEER_PORT/$PLAYLIST:$((VIEWERS - half))" \
  "peer-hint=http://127.0.0.1:$PEER_PORT/$PLAYLIST:$half:hint" \
  "ours-parts=http://127.0.0.1:$OURS_PORT/$PLAYLIST:$((VIEWERS - half))" \
  "ours-hint=http://127.0.0.1:$OURS_PORT/$PLAYLIST:$half:hint" >"$BENCH_TMP/viewers.json" 2>"$BENCH_TMP/viewers.err" \
  || die "viewers failed: $(tail -5 "$BENCH_TMP/viewers.err")"

# Origin requests from an edge's access log (its "edge" format: the request target is field 4): blocking playlist
# reloads (a playlist with _HLS_msn, one object per msn and part) or parts (…{n}.{k}.m4s) that an upstream answered
# (upstream=<address>, not "-"). Prints "origin_requests distinct_objects max_per_object".
origin_requests() { # ACCESS_LOG blocking|part
  awk -v kind="$2" '
    { uri = $4; up = ""; for (i = 1; i <= NF; i++) if ($i ~ /^upstream=/) up = substr($i, 10) }
    kind == "blocking" { if (uri !~ /_HLS_msn=/) next
      split(uri, q, "?"); n2 = split(q[2], a, "&"); key = q[1]
      for (j = 1; j <= n2; j++) if (a[j] ~ /^_HLS_(msn|part)=/) key = key "&" a[j]
      uri = key }
    kind == "part" && uri !~ /\.[0-9]+\.m4s$/ { next }
    { seen[uri] = 1; if (up != "" && up != "-") { n[uri]++; total++ } }
    END { for (u in seen) { d++; if (n[u] > m) m = n[u] } printf "%d %d %d\n", total, d, m }' "$1"
}
read -r pb_total pb_distinct pb_max < <(origin_requests "$PEER_DIR/access.log" blocking)
read -r pp_total pp_distinct pp_max < <(origin_requests "$PEER_DIR/access.log" part)
read -r ob_total ob_distinct ob_max < <(origin_requests "$OURS_DIR/access.log" blocking)
read -r op_total op_distinct op_max < <(origin_requests "$OURS_DIR/access.log" part)

# LL-DASH through our edge: VIEWERS concurrent GETs of the next segment (the one after the segment being written, so
# all of them are asked before it exists, as dash.js asks at its availability start), three rounds. nginx streams
# a response that grows (X-Accel-Buffering: no) without caching it and cannot share it while it streams, so each
# such GET that finds no complete copy in the cache reaches the origin.
dash_rounds=3 dash_first=() dash_spread=()
for ((round = 1; round <= dash_rounds; round++)); do
  hint=$(curl -fsS "$HTTP_BASE/$PLAYLIST" | sed -n 's/.*PRELOAD-HINT:TYPE=PART,URI="\([^"]*\)-\([0-9]*\)\.[0-9]*\.m4s".*/\1 \2/p')
  read -r broadcast number <<<"$hint"
  [[ -n "${number:-}" ]] || die "no preload hint in $HTTP_BASE/$PLAYLIST"
  segment="live/$SLUG/source/$broadcast-$((number + 1)).m4s"
  pids=()
  for ((i = 0; i < VIEWERS; i++)); do
    curl -fsS -o /dev/null -w '%{time_starttransfer}\n' "http://127.0.0.1:$OURS_PORT/$segment" >>"$BENCH_TMP/dash-$round.times" & pids+=($!)
  done
  wait "${pids[@]}" || die "an LL-DASH segment GET through the edge failed"
  read -r first spread < <(sort -n "$BENCH_TMP/dash-$round.times" | awk 'NR == 1 { f = $1 } { l = $1 } END { printf "%.2f %.0f\n", f, (l - f) * 1000 }')
  dash_first+=("$first") dash_spread+=("$spread")
done
dash_origin=$(grep -cE "\"GET /live/$SLUG/source/[0-9TZ]+-[0-9]+\.m4s HTTP[^\"]*\" 200 .* upstream=[0-9]" "$OURS_DIR/access.log" || true)

# One row per viewer group from the simulator's JSON.
row() { # GROUP LABEL
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).groups[process.argv[2]];
    const f = (x) => `${x.p50} / ${x.p95} / ${x.max}`;
    console.log(`| ${process.argv[3]} | ${r.viewers} | ${f(r.learn)} | ${f(r.receive)} | ${r.over100ms} of ${r.learn.n} | ${r.failures} |`);
  ' "$BENCH_TMP/viewers.json" "$1" "$2"
}
ratio_p95() { # GROUP_PEER GROUP_OURS: receive p95 lateness, peer over ours (ours at least 1 ms)
  node -e '
    const g = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).groups;
    const a = g[process.argv[2]].receive.p95, b = Math.max(1, g[process.argv[3]].receive.p95);
    console.log((a / b).toFixed(1));' "$BENCH_TMP/viewers.json" "$1" "$2"
}
table="| edge, viewers | viewers | learns of a part, later than at the origin: p50 / p95 / max ms | receives it, later than at the origin: p50 / p95 / max ms | learnt over 100 ms late | failed requests |
|---|---|---|---|---|---|
$(row peer-parts "peer ($PEER_REV), parts as listed (hls.js)")
$(row peer-hint "peer ($PEER_REV), preload hint too (Shaka)")
$(row ours-parts "ours, parts as listed (hls.js)")
$(row ours-hint "ours, preload hint too (Shaka)")

| edge | origin requests for blocking reloads / distinct reloads (max per reload) | origin requests for parts / distinct parts (max per part) |
|---|---|---|
| peer ($PEER_REV) | $pb_total / $pb_distinct ($pb_max) | $pp_total / $pp_distinct ($pp_max) |
| ours | $ob_total / $ob_distinct ($ob_max) | $op_total / $op_distinct ($op_max) |

LL-DASH through ours: $VIEWERS concurrent GETs of the next segment, $dash_rounds rounds: $dash_origin of $((VIEWERS * dash_rounds)) reached the origin (one
origin stream per viewer: nginx neither caches nor shares a response while it grows); first byte of the first viewer
after ${dash_first[*]} s (it waits for the segment to begin), the last viewer ${dash_spread[*]} ms after the first.

Ratio of the p95 lateness of receiving a part, peer over ours: $(ratio_p95 peer-parts ours-parts) (parts as listed), $(ratio_p95 peer-hint ours-hint) (preload hint too).
One server (ladder off), a lowLatency channel fed by \`ffmpeg -re -stream_loop -1 -c copy\` of a 640x360 30 fps clip (1 s
GOP, AAC); two Debian nginx edges on loopback in front of it, the peer's configuration and ours, each with $VIEWERS
viewers for $SECONDS_TO_RUN s following source/index.m3u8 (bench/llhls-viewers.mjs). \"Later than at the origin\": against a
probe viewer reading the origin directly at the same time."
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "LL-HLS viewers behind the edge: the edge's wait at the live edge, $VIEWERS viewers an edge" "$table"

#!/usr/bin/env bash
# The publish authorization callback's cost (#68): how much longer an encoder waits for NetStream.Publish.Start when the
# server asks the platform first, beyond the platform's own time. Two of our servers (callback off; callback on, every
# answer asked, none kept: PublishCallback:CacheSeconds=0) and nginx-rtmp, the peer, with and without its on_publish
# hook. Both hooks ask the same receiver: nginx answering 204 at once, its own time ($request_time) in its log. The
# bench/publishtime tool publishes to the four targets in turn, ROUNDS rounds, timing each from the TCP connect to
# Publish.Start (the tool closes at once; no media is sent).
# Reports per target the median and p90, and the callback's added latency (on minus off, medians) for ours and for
# nginx-rtmp; target: ours under 50 ms beyond the receiver's own time.
#
# Usage: bench/publish-callback.sh      ROUNDS=40 by default (1..500)
#        BUILD=0 skips the dotnet builds; KEEP_TMP=1 keeps logs; NO_RESULTS=1.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-40}
((ROUNDS >= 1 && ROUNDS <= 500)) || die "ROUNDS must be 1..500"
BENCH_COMMAND="$(dotnet_env)ROUNDS=$ROUNDS bench/publish-callback.sh"
TOOL_DLL="$REPO_DIR/bench/publishtime/bin/Release/net10.0/Broadcast.PublishTime.dll"

"$REPO_DIR/scripts/deps.sh" nginx libnginx-mod-rtmp curl
bench_init
server_build
tool_build bench/publishtime "$TOOL_DLL" "publish timer"

# The platform: nginx answering the hook at once; nginx-rtmp beside it, "live" with the hook and "open" without.
HOOK_PORT=$(free_port); PEER_PORT=$(free_port)
nginx_start "$BENCH_TMP/nginx" "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:$PEER_PORT; chunk_size 4096;
  application live { live on; record off; on_publish http://127.0.0.1:$HOOK_PORT/publish; }
  application open { live on; record off; } } }
http {
  log_format timed '\$request_uri \$status \$request_time';
  access_log $BENCH_TMP/nginx/logs/hook.log timed;
  server { listen 127.0.0.1:$HOOK_PORT; location / { return 204; } }
}"
wait_until 20 port_listening "$PEER_PORT" || die "nginx-rtmp did not listen on $PEER_PORT"
wait_until 20 port_listening "$HOOK_PORT" || die "the hook receiver did not listen on $HOOK_PORT"

# A dropped publish ends at once (no reconnect grace holds the key), and the address may publish this often.
common="--Transcode:Enabled=false --Ingest:ReconnectGraceSeconds=0 --Rtmp:HandshakesPerSecondPerIp=1000"
SERVER_ARGS="$common" server_start "$BENCH_TMP/off"
OFF_RTMP=$RTMP_PORT
read -r OFF_KEY _ < <(create_channel callback-off)
SERVER_ARGS="$common --PublishCallback:Url=http://127.0.0.1:$HOOK_PORT/broadcast --PublishCallback:CacheSeconds=0 \
--Outbound:AllowedNetworks=127.0.0.0/8" server_start "$BENCH_TMP/on"
ON_RTMP=$RTMP_PORT
read -r ON_KEY _ < <(create_channel callback-on)

log "publishing $ROUNDS rounds to four targets"
dotnet "$TOOL_DLL" --rounds "$ROUNDS" \
  --target "ours-off=rtmp://127.0.0.1:$OFF_RTMP/live/$OFF_KEY" \
  --target "ours-on=rtmp://127.0.0.1:$ON_RTMP/live/$ON_KEY" \
  --target "nginx-off=rtmp://127.0.0.1:$PEER_PORT/open/bench" \
  --target "nginx-on=rtmp://127.0.0.1:$PEER_PORT/live/bench" >"$BENCH_TMP/times.tsv" || die "the publish timer failed"

refused=$(grep -c $'\trefused\t' "$BENCH_TMP/times.tsv" || true)
((refused == 0)) || { grep $'\trefused\t' "$BENCH_TMP/times.tsv" | head -5 >&2; die "$refused publishes were refused"; }
field() { awk -F'\t' -v l="$1" -v c="$2" '$1 == "summary" && $2 == l { print $c }' "$BENCH_TMP/times.tsv"; }
# The receiver's own time per asking hook (nginx logs seconds with millisecond resolution): median, in ms.
hook_median() { awk -v p="$1" '$1 ~ p { print $3 * 1000 }' "$BENCH_TMP/nginx/logs/hook.log" | sort -n \
  | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }
asked_ours=$(grep -c '^/broadcast' "$BENCH_TMP/nginx/logs/hook.log" || true)
asked_peer=$(grep -c '^/publish' "$BENCH_TMP/nginx/logs/hook.log" || true)

table="| target | publishes | median ms | p90 ms | min ms | max ms |
|---|---|---|---|---|---|"
for t in ours-off ours-on nginx-off nginx-on; do
  table+=$'\n'"| $t | $(field "$t" 3) | $(field "$t" 4) | $(field "$t" 5) | $(field "$t" 6) | $(field "$t" 7) |"
done
added_ours=$(awk -v a="$(field ours-on 4)" -v b="$(field ours-off 4)" 'BEGIN { printf "%.2f", a - b }')
added_peer=$(awk -v a="$(field nginx-on 4)" -v b="$(field nginx-off 4)" 'BEGIN { printf "%.2f", a - b }')
summary="$table

Callback asked (5 warm-up rounds included): ours $asked_ours times, nginx-rtmp $asked_peer times; the receiver's own time (median, nginx \`\$request_time\`):
$(hook_median '^/broadcast') ms for ours, $(hook_median '^/publish') ms for nginx-rtmp.
Added by the callback (median on − median off): **ours $added_ours ms**, nginx-rtmp $added_peer ms (target: ours under 50 ms
beyond the receiver's own time)."
echo "$summary"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "Publish authorization callback: added publish latency, ours beside nginx-rtmp's on_publish" "$summary"

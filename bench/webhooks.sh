#!/usr/bin/env bash
# Webhooks through the outbox (#68): events a second from the database to a receiver on loopback. Our server with one
# webhook endpoint; nginx answers it at once (204) and logs each delivery's arrival ($msec). Two loads, COUNT events
# each, made through the admin API by WRITERS curl processes at once (as fast as they are answered): "many channels" (COUNT channels created: channel.created,
# delivered up to 32 at a time, each channel in its own order) and "one channel" (COUNT renames of one channel:
# channel.updated, in order, one at a time). Reports for each: how long the API took to write the events, when the last
# one arrived, and events a second at the receiver (from the first API request to the last arrival). When the last
# arrival follows the last write closely, delivery kept up and the figure is the API's write rate, a floor of the
# outbox's. No peer: no other server here has a webhook outbox; the one-channel run (one write at a time, as ordering
# needs) shows the ordered path.
#
# Usage: bench/webhooks.sh       COUNT=300 (10..2000) and WRITERS=8 (1..32) by default
#        BUILD=0 skips the dotnet build; KEEP_TMP=1 keeps logs; NO_RESULTS=1.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

COUNT=${COUNT:-300}
WRITERS=${WRITERS:-8}
((COUNT >= 10 && COUNT <= 2000)) || die "COUNT must be 10..2000"
((WRITERS >= 1 && WRITERS <= 32)) || die "WRITERS must be 1..32"
BENCH_COMMAND="$(dotnet_env)COUNT=$COUNT WRITERS=$WRITERS bench/webhooks.sh"

"$REPO_DIR/scripts/deps.sh" nginx curl
bench_init
server_build

HOOK_PORT=$(free_port)
nginx_start "$BENCH_TMP/nginx" "worker_processes 1;
events { worker_connections 1024; }
http {
  log_format arrived '\$msec \$request_uri \$status';
  access_log $BENCH_TMP/nginx/logs/hooks.log arrived;
  server { listen 127.0.0.1:$HOOK_PORT; location / { return 204; } }
}"
wait_until 20 port_listening "$HOOK_PORT" || die "the receiver did not listen on $HOOK_PORT"

SERVER_ARGS="--Transcode:Enabled=false --Outbound:AllowedNetworks=127.0.0.0/8" server_start "$BENCH_TMP/ours"
api() { curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' "$@"; }
api -X POST "$HTTP_BASE/api/webhooks" -d "{\"url\":\"http://127.0.0.1:$HOOK_PORT/many\",\"eventTypes\":[\"channel.created\"]}" >/dev/null \
  || die "POST /api/webhooks failed"
api -X POST "$HTTP_BASE/api/webhooks" -d "{\"url\":\"http://127.0.0.1:$HOOK_PORT/one\",\"eventTypes\":[\"channel.updated\"]}" >/dev/null \
  || die "POST /api/webhooks failed"

now_ms() { date +%s%3N; }
arrivals() { grep -c " /$1 204" "$BENCH_TMP/nginx/logs/hooks.log" || true; }
last_arrival_ms() { awk -v p="/$1" '$2 == p { t = $1 } END { printf "%.0f", t * 1000 }' "$BENCH_TMP/nginx/logs/hooks.log"; }
# run LABEL PATH: waits until COUNT deliveries to PATH arrived (at most 5 minutes); prints "api_ms last_ms per_second".
measure() {
  local path=$1 start=$2 written=$3
  wait_until 300 bash -c "[[ \$(grep -c ' /$path 204' '$BENCH_TMP/nginx/logs/hooks.log' || true) -ge $COUNT ]]" \
    || die "only $(arrivals "$path") of $COUNT deliveries to /$path arrived within 5 minutes"
  local last; last=$(last_arrival_ms "$path")
  awk -v s="$start" -v w="$written" -v l="$last" -v n="$COUNT" 'BEGIN { printf "%d %d %.0f\n", w - s, l - s, n * 1000 / (l - s) }'
}

log "many channels: creating $COUNT channels"
start=$(now_ms)
export HTTP_BASE ADMIN_TOKEN
seq 1 "$COUNT" | xargs -P "$WRITERS" -I{} curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -X POST "$HTTP_BASE/api/channels" -d '{"name":"hooks {}"}' || die "a POST /api/channels failed"
read -r many_api many_last many_rate < <(measure many "$start" "$(now_ms)")

read -r _ slug < <(create_channel renamed)
id=$(api "$HTTP_BASE/api/channels" | tr '{' '\n' | grep "\"slug\":\"$slug\"" | json_field id)
[[ -n "$id" ]] || die "no id for $slug"
log "one channel: renaming it $COUNT times"
start=$(now_ms)
for i in $(seq 1 "$COUNT"); do
  api -X PATCH "$HTTP_BASE/api/channels/$id" -d "{\"name\":\"renamed $i\"}" >/dev/null || die "PATCH failed at $i"
done
read -r one_api one_last one_rate < <(measure one "$start" "$(now_ms)")

summary="| load | events | API writes took (ms) | last arrival after (ms) | events a second |
|---|---|---|---|---|
| many channels (channel.created, $WRITERS writers) | $COUNT | $many_api | $many_last | **$many_rate** |
| one channel (channel.updated, in order) | $COUNT | $one_api | $one_last | **$one_rate** |

Deliveries that were not 204: $(awk '$3 != 204' "$BENCH_TMP/nginx/logs/hooks.log" | wc -l)."
echo "$summary"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "Webhooks through the outbox to a receiver on loopback (no peer)" "$summary"

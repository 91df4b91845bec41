#!/usr/bin/env bash
# Chat at scale: CLIENTS SignalR viewers (bench/chatload) join one channel's chat and
# SENDERS of them post RATE messages a second for SECONDS; each viewer times every delivery. Reports p50/p90/p99/max
# delivery, messages lost, and the server's CPU seconds and peak RSS (the process tree, from /proc) over the run.
# NODES=2 runs two servers on one throwaway PostgreSQL cluster (Debian's PostgreSQL 15): viewers alternate between
# them, so half of every delivery crosses nodes through LISTEN/NOTIFY; CPU and RSS are the two servers together.
# The chat's per-viewer and per-address limits are raised for the run (every client is on 127.0.0.1); the channel cap
# stays above RATE. Everything binds 127.0.0.1.
#
# Usage: bench/chat.sh                      CLIENTS=2000 RATE=50 SECONDS_=30 SENDERS=10 NODES=1 by default
#        CLIENTS=500 RATE=20 SECONDS_=10 bench/chat.sh
#        NODES=2 bench/chat.sh
#        BATCH_MS=0 bench/chat.sh             every event sent alone (Chat:DeliveryBatchMilliseconds; the server's default when unset)
#        WARMUP=0 bench/chat.sh               no warm-up: the cold servers' first seconds counted (WARMUP=5 by default: the
#                                             same load for 5 s, not counted, before the measured SECONDS_)
#        CLIENT=signalr bench/chat.sh         viewers on the .NET SignalR client, not the load client's own lean one
#                                             (the hub's JSON protocol over a WebSocket, the default: CLIENT=websocket)
#        BUILD=0 skips the dotnet builds; KEEP_TMP=1 keeps logs; NO_RESULTS=1 does not append to RESULTS.md.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

CLIENTS=${CLIENTS:-2000}
RATE=${RATE:-50}
DURATION=${SECONDS_:-30}
SENDERS=${SENDERS:-10}
NODES=${NODES:-1}
BATCH_MS=${BATCH_MS:-}
CLIENT=${CLIENT:-websocket}
WARMUP=${WARMUP:-5}
((CLIENTS >= 1 && CLIENTS <= 5000)) || die "CLIENTS must be 1..5000"
((RATE >= 1 && RATE <= 1000)) || die "RATE must be 1..1000"
((DURATION >= 1 && DURATION <= 300)) || die "SECONDS_ must be 1..300"
((SENDERS >= 1 && SENDERS <= CLIENTS)) || die "SENDERS must be 1..CLIENTS"
((NODES == 1 || NODES == 2)) || die "NODES must be 1 or 2"
((WARMUP >= 0 && WARMUP <= 60)) || die "WARMUP must be 0..60"
[[ "$CLIENT" == websocket || "$CLIENT" == signalr ]] || die "CLIENT must be websocket or signalr"
[[ -z "$BATCH_MS" ]] || ((BATCH_MS >= 0 && BATCH_MS <= 1000)) || die "BATCH_MS must be 0..1000"
BENCH_COMMAND="$(dotnet_env)CLIENTS=$CLIENTS RATE=$RATE SECONDS_=$DURATION SENDERS=$SENDERS NODES=$NODES${BATCH_MS:+ BATCH_MS=$BATCH_MS} CLIENT=$CLIENT WARMUP=$WARMUP bench/chat.sh"
LOAD_DLL="$BENCH_DIR/chatload/bin/Release/net10.0/Broadcast.ChatLoad.dll"

"$REPO_DIR/scripts/deps.sh" curl
((NODES == 1)) || "$REPO_DIR/scripts/deps.sh" postgresql
bench_init
server_build
tool_build bench/chatload "$LOAD_DLL" "chat load client"
# Two sockets per viewer on this machine (client and server side) plus the runtime's own.
ulimit -n $((CLIENTS * 2 + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# Every client comes from loopback: lift the connection caps that protect a real node.
CHAT_ARGS="--Chat:MaxConnectionsPerAddress=$((CLIENTS + 100)) --Chat:MaxConnections=$((CLIENTS + 20000)) --Chat:ViewerMessagesPerMinute=60000 --Chat:ViewerBurst=1000 --Chat:AddressMessagesPerMinute=600000 --Chat:AddressBurst=100000 \
--Chat:ChannelMessagesPerSecond=$((RATE * 4)) --Chat:ChannelBurst=$((RATE * 4)) --Transcode:Enabled=false${BATCH_MS:+ --Chat:DeliveryBatchMilliseconds=$BATCH_MS}"
URLS=""
if ((NODES == 1)); then
  SERVER_ARGS="$CHAT_ARGS" server_start "$BENCH_TMP/node1"
  URLS=$HTTP_BASE
  ROOT_PIDS=("$SERVER_PID")
else
  PGBIN=/usr/lib/postgresql/15/bin
  PGDIR="$BENCH_TMP/pg"
  mkdir -p "$PGDIR" && chown postgres: "$PGDIR"
  PGPORT=$(free_port)
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1" -w start >/dev/null
  stop_pg() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true; }
  trap 'stop_pg; bench_cleanup' EXIT
  PG="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres"
  # One cluster, one server secret: each node decrypts the keys the other stored, as in a real deployment.
  SECRET=$(head -c 32 /dev/urandom | base64 -w0)
  ROOT_PIDS=()
  for n in 1 2; do
    SERVER_ARGS="$CHAT_ARGS --Database:Kind=postgres --Database:ConnectionString=$PG --Secrets:Key=$SECRET --Admin:Token=bench-shared-token-0123456789abcdef" \
      server_start "$BENCH_TMP/node$n"
    ROOT_PIDS+=("$SERVER_PID")
    URLS="${URLS:+$URLS,}$HTTP_BASE"
  done
  ADMIN_TOKEN=bench-shared-token-0123456789abcdef
fi
read -r _ slug < <(create_channel "chat-$RANDOM")

for p in "${ROOT_PIDS[@]}"; do sampler_start "$p" "$BENCH_TMP/samples.$p"; done
t0=$EPOCHREALTIME
log "chat load: $CLIENTS viewers on $NODES node(s), $RATE messages/s from $SENDERS senders for ${DURATION}s"
set +e
/usr/bin/time -o "$BENCH_TMP/load.time" -f "%U %S" timeout --kill-after=10 $((DURATION + 240)) dotnet "$LOAD_DLL" --url "$URLS" --slug "$slug" --clients "$CLIENTS" --rate "$RATE" \
  --seconds "$DURATION" --senders "$SENDERS" --client "$CLIENT" --warmup "$WARMUP" >"$BENCH_TMP/load.out" 2>"$BENCH_TMP/load.err"
status=$?
set -e
t1=$EPOCHREALTIME
sampler_stop
cat "$BENCH_TMP/load.out" >&2
[[ -s "$BENCH_TMP/load.err" ]] && tail -20 "$BENCH_TMP/load.err" >&2
((status == 0 || status == 3)) || die "the load client failed (exit $status)"

cpu=0; rss=0
for p in "${ROOT_PIDS[@]}"; do
  read -r c r _ < <(sampler_report "$BENCH_TMP/samples.$p" "$t0" "$t1")
  cpu=$(awk -v a="$cpu" -v b="$c" 'BEGIN { printf "%.2f", a + b }'); rss=$(awk -v a="$rss" -v b="$r" 'BEGIN { printf "%.1f", a + b }')
done
field() { tr ' ' '\n' <"$BENCH_TMP/load.out" | sed -n "s/^$1=//p" | tail -1; }
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
client_cpu=$(awk 'NF == 2 { printf "%.1f", $1 + $2 }' "$BENCH_TMP/load.time" 2>/dev/null || true)
warmup="No warm-up: the servers' first seconds are counted."
((WARMUP == 0)) || warmup="Warm-up: ${WARMUP} s of the same load, not counted, delivered in $(field warmup_wall_seconds) s."
split=""
if ((NODES > 1)); then
  split="
Split by where the sender was (the load client's clock): same node p50 / p99 $(field local_p50_ms) / $(field local_p99_ms) ms, crossing
nodes through PostgreSQL p50 / p99 $(field cross_p50_ms) / $(field cross_p99_ms) ms."
fi
body="| nodes | viewers | messages/s | delivery batch ms | sent | refused | deliveries expected | received | p50 ms | p90 ms | p99 ms | max ms | server CPU s (wall ${wall} s, connect and warm-up included) | server peak RSS MB |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
| $NODES | $CLIENTS | $RATE | ${BATCH_MS:-100 (default)} | $(field sent) | $(field refused) | $(field expected) | $(field received) | $(field p50_ms) | $(field p90_ms) | $(field p99_ms) | $(field max_ms) | $cpu | $rss |

Connect: $(field connect_seconds) s for $CLIENTS viewers (WebSockets; load client: $CLIENT). $warmup The load client runs on the same 2 cores as the server(s)
and used ${client_cpu:-?} CPU s.$split"
echo "$body"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "chat.sh — chat delivery at scale" "$body"

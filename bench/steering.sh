#!/usr/bin/env bash
# Content steering's cost: our steering server (GET /steering/hls, a player's periodic request with its session and
# pathway) and our steered master playlist (the origin's rewrite, kept per manifest version), against plain nginx
# serving byte-identical copies of both answers from disk: the cheapest thing an operator could put in its place
# (a static steering manifest cannot steer anyone, so it is a floor, not a rival). wrk (THREADS threads, CONNECTIONS
# connections, WRK_SECONDS s) per URL, ours and nginx alternating, one publisher streaming to ours throughout.
# The pathways are two more nginx servers answering /healthz, so the steering server sees both healthy.
#
# Usage: bench/steering.sh
#        ROUNDS=3 WRK_SECONDS=10 CONNECTIONS=64 THREADS=2 bench/steering.sh   (NO_RESULTS=1: print only)
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

wrk_settings
BENCH_COMMAND="$(dotnet_env)ROUNDS=$ROUNDS WRK_SECONDS=$WRK_SECONDS CONNECTIONS=$CONNECTIONS THREADS=$THREADS bench/steering.sh"

"$REPO_DIR/scripts/deps.sh" nginx wrk ffmpeg curl
bench_init
ensure_clip

# Two pathways: nginx answering /healthz, as the shipped edge does through to an origin.
PATH_DIR="$BENCH_TMP/pathways"; PORT_A=$(free_port); PORT_B=$(free_port)
nginx_start "$PATH_DIR" "worker_processes 1;
events { worker_connections 256; }
http { access_log off;
  server { listen 127.0.0.1:$PORT_A; location = /healthz { return 200 'ok'; } }
  server { listen 127.0.0.1:$PORT_B; location = /healthz { return 200 'ok'; } } }"
wait_until 20 curl -fsS -o /dev/null "http://127.0.0.1:$PORT_A/healthz" || die "the pathways' nginx does not answer"

server_build
SRV_DIR="$BENCH_TMP/ours"
SERVER_ARGS="--Transcode:Enabled=false --Steering:Pathways:0:Id=cdn-a --Steering:Pathways:0:BaseUrl=http://127.0.0.1:$PORT_A \
--Steering:Pathways:1:Id=cdn-b --Steering:Pathways:1:BaseUrl=http://localhost:$PORT_B" server_start "$SRV_DIR"
read -r KEY SLUG < <(create_channel "steering-bench-$RANDOM")
log "publishing to our server (channel $SLUG)"
timeout --kill-after=5 600 ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$CLIP" \
  -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" >"$BENCH_TMP/publisher.log" 2>&1 &
BENCH_PIDS+=($!)
MASTER_PATH="/live/$SLUG/master.m3u8"
has_master() { curl -fsS "$HTTP_BASE$MASTER_PATH" -o "$BENCH_TMP/master.m3u8" && grep -q 'PATHWAY-ID="cdn-b"' "$BENCH_TMP/master.m3u8"; }
wait_until 90 has_master || { tail -20 "$SRV_DIR/server.log" >&2; die "no steered master at $HTTP_BASE$MASTER_PATH after 90 s"; }
STEER_PATH="/steering/hls?session=benchSession01&_HLS_pathway=cdn-a&_HLS_throughput=5000000"
curl -fsS "$HTTP_BASE$STEER_PATH" -o "$BENCH_TMP/steering.json" || die "no steering answer"
grep -q '"PATHWAY-PRIORITY":\["cdn-a"' "$BENCH_TMP/steering.json" || die "unexpected steering answer: $(cat "$BENCH_TMP/steering.json")"

# nginx's copies, byte for byte, at the same paths (the steering answer as a file named hls).
WWW="$BENCH_TMP/www"; mkdir -p "$WWW/live/$SLUG" "$WWW/steering"
cp "$BENCH_TMP/master.m3u8" "$WWW$MASTER_PATH"; cp "$BENCH_TMP/steering.json" "$WWW/steering/hls"
chmod -R a+rX "$WWW"
NGX_DIR="$BENCH_TMP/nginx"; NGX_PORT=$(free_port)
nginx_start "$NGX_DIR" "worker_processes auto;
events { worker_connections 4096; }
http {
  types { application/vnd.apple.mpegurl m3u8; }
  default_type application/json;
  sendfile on; tcp_nopush on; tcp_nodelay on; access_log off;
  keepalive_timeout 65; keepalive_requests 1000000;
  server { listen 127.0.0.1:$NGX_PORT; root $WWW; }
}"
NGX_BASE="http://127.0.0.1:$NGX_PORT"
wait_until 20 curl -fsS -o /dev/null "$NGX_BASE$MASTER_PATH" || die "nginx does not serve the master copy"

rows=""
declare -A SUM=()
for ((r = 1; r <= ROUNDS; r++)); do
  for what in steering master; do
    for side in ours nginx; do
      base=$NGX_BASE; [[ $side == ours ]] && base=$HTTP_BASE
      path=$MASTER_PATH
      if [[ $what == steering ]]; then path=$STEER_PATH; [[ $side == nginx ]] && path="/steering/hls"; fi
      log "round $r: wrk $what on $side ($base$path)"
      read -r rps lat bad errs < <(run_wrk "$r-$what-$side" "$base$path")
      ((bad == 0 && errs == 0)) || die "$side $what: $bad non-2xx answers, $errs socket errors"
      SUM["$what-$side"]=$(awk -v a="${SUM["$what-$side"]:-0}" -v b="$rps" 'BEGIN { print a + b }')
      rows+="| $r | $what | $side | $rps | $lat |"$'\n'
    done
  done
done

summary=""
for what in steering master; do
  o=$(awk -v s="${SUM["$what-ours"]}" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }')
  g=$(awk -v s="${SUM["$what-nginx"]}" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }')
  summary+="| $what | $o | $g | **$(ratio "$o" "$g")** |"$'\n'
done
table="| answer | ours req/s | nginx (a static copy) req/s | ours / nginx |
|---|---|---|---|
${summary}
The steering request: \`$STEER_PATH\` ($(stat -c %s "$BENCH_TMP/steering.json") bytes: a decision, its JSON and its
RELOAD-URI made per request); the master: \`$MASTER_PATH\` ($(stat -c %s "$BENCH_TMP/master.m3u8") bytes, two pathways,
rewritten once per manifest version). wrk -t$THREADS -c$CONNECTIONS -d${WRK_SECONDS}s per row, $ROUNDS round(s).

| round | answer | server | req/s | avg latency |
|---|---|---|---|---|
${rows}"
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "steering: the steering server and the steered master over HTTP" "$table"

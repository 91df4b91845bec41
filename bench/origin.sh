#!/usr/bin/env bash
# Origin HTTP throughput: our origin serving a hot live segment and the live media playlist, against plain nginx
# serving byte-identical copies of the same two files from disk (sendfile on, same Content-Type), in one run.
# wrk (THREADS threads, CONNECTIONS connections, WRK_SECONDS s) per URL; the runs alternate ours/nginx so drift on
# this shared machine hits both sides. Reports req/s and ours/nginx. Targets (issue): segment >= 0.8x nginx, playlist >= 1.0x.
# Ours is also measured with Common Media Client Data on every request (the CMCD query argument as hls.js sends it, from
# 10,000 playback sessions), against the same requests with the argument named otherwise (XMCD, which the origin
# ignores, made by the same wrk script): the cost of reading CMCD into the channel's quality (target: within 5 %).
#
# While wrk runs, one publisher keeps streaming to our server (the origin serves a live channel, as in production);
# it runs during the nginx measurements too, so both sides share the machine with the same background load.
#
# Usage: bench/origin.sh
#        ROUNDS=3 WRK_SECONDS=10 CONNECTIONS=64 THREADS=2 bench/origin.sh
#        ONLY=nginx bench/origin.sh  (peer half only, with CMAF files made by ffmpeg's HLS muxer instead of ours)
#        NGINX_SENDFILE=off bench/origin.sh  (nginx copies each body through user space as we do: what sendfile is worth)
#        CMCD=0 bench/origin.sh  (no CMCD rows)
#        BUILD=0 skips the dotnet build; KEEP_TMP=1 keeps logs.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

wrk_settings
ONLY=${ONLY:-both}
only_arg=""; [[ $ONLY == both ]] || only_arg="ONLY=$ONLY "
NGINX_SENDFILE=${NGINX_SENDFILE:-on}
CMCD=${CMCD:-1}
[[ $ONLY == nginx ]] && CMCD=0
[[ $CMCD == 1 ]] || only_arg="${only_arg}CMCD=0 "
[[ $NGINX_SENDFILE == on || $NGINX_SENDFILE == off ]] || die "NGINX_SENDFILE must be on or off"
[[ $NGINX_SENDFILE == on ]] || only_arg="${only_arg}NGINX_SENDFILE=off "
BENCH_COMMAND="$(dotnet_env)${only_arg}ROUNDS=$ROUNDS WRK_SECONDS=$WRK_SECONDS CONNECTIONS=$CONNECTIONS THREADS=$THREADS bench/origin.sh"

"$REPO_DIR/scripts/deps.sh" nginx wrk ffmpeg curl
bench_init
ensure_clip

WWW="$BENCH_TMP/www"
mkdir -p "$WWW"

# Relative URI -> absolute URL, against the playlist's URL.
resolve() { # base_url uri
  case $2 in
    http://* | https://*) echo "$2" ;;
    /*) echo "${1%%/live/*}$2" ;;
    *) echo "${1%/*}/$2" ;;
  esac
}

if [[ $ONLY != nginx ]]; then
  server_build
  SRV_DIR="$BENCH_TMP/ours"
  server_start "$SRV_DIR"
  read -r KEY SLUG < <(create_channel "origin-bench-$RANDOM")
  publish_clip "$KEY" "$SLUG" 600
else
  # Peer-only mode: a CMAF stream from ffmpeg's own HLS muxer stands in for ours.
  mkdir -p "$WWW/live/peer/source"
  ffmpeg -nostdin -hide_banner -loglevel error -i "$CLIP" -t 10 -map 0:v -c copy -f hls -hls_time 2 \
    -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 -hls_segment_filename "$WWW/live/peer/source/0-%d.m4s" \
    "$WWW/live/peer/source/index.m3u8"
  PLAYLIST_URL="http://127.0.0.1:0/live/peer/source/index.m3u8"
fi

# pick_hot: the hot segment is the newest one listed (what every viewer at the live edge asks for next). Copies it
# and the current playlist byte for byte under the same paths into nginx's root. Called again before every round:
# a live segment leaves the window (and the store) ~12 s after it is listed.
pick_hot() {
  local playlist seg_uri
  if [[ $ONLY != nginx ]]; then playlist=$(curl -fsS "$PLAYLIST_URL"); else playlist=$(cat "$WWW/live/peer/source/index.m3u8"); fi
  seg_uri=$(grep -v '^#' <<<"$playlist" | grep -v '^[[:space:]]*$' | tail -1 || true)
  [[ -n "$seg_uri" ]] || die "no segment in the playlist"
  SEG_URL=$(resolve "$PLAYLIST_URL" "$seg_uri")
  SEG_PATH="/${SEG_URL#http://*/}"
  PL_PATH="/${PLAYLIST_URL#http://*/}"
  if [[ $ONLY != nginx ]]; then
    mkdir -p "$WWW$(dirname "$SEG_PATH")" "$WWW$(dirname "$PL_PATH")"
    curl -fsS -o "$WWW$SEG_PATH" "$SEG_URL"
    curl -fsS -o "$WWW$PL_PATH" "$PLAYLIST_URL"
    SEG_TYPE=$(curl -fsS -o /dev/null -w '%{content_type}' "$SEG_URL")
    PL_TYPE=$(curl -fsS -o /dev/null -w '%{content_type}' "$PLAYLIST_URL")
    curl -fsS "$SEG_URL" | cmp -s - "$WWW$SEG_PATH" || die "our origin's segment bytes changed between two GETs"
  else
    SEG_TYPE="video/mp4"; PL_TYPE="application/vnd.apple.mpegurl"
  fi
  SEG_BYTES=$(stat -c %s "$WWW$SEG_PATH")
  PL_BYTES=$(stat -c %s "$WWW$PL_PATH")
  chmod -R a+rX "$WWW"
  log "segment $SEG_PATH ($SEG_BYTES B, $SEG_TYPE); playlist $PL_PATH ($PL_BYTES B, $PL_TYPE)"
}
pick_hot

NGX_DIR="$BENCH_TMP/nginx"; NGX_PORT=$(free_port)
seg_ext=${SEG_PATH##*.}; pl_ext=${PL_PATH##*.}
nginx_start "$NGX_DIR" "worker_processes auto;
events { worker_connections 4096; }
http {
  types { $SEG_TYPE $seg_ext; $PL_TYPE $pl_ext; }
  default_type application/octet-stream;
  sendfile $NGINX_SENDFILE; tcp_nopush on; tcp_nodelay on;
  access_log off;
  keepalive_timeout 65; keepalive_requests 1000000;
  server { listen 127.0.0.1:$NGX_PORT; root $WWW; }
}"
NGX_BASE="http://127.0.0.1:$NGX_PORT"

# Every request carries the CMCD query argument hls.js writes (percent-encoded), each wrk connection cycling through
# 5,000 session ids of its thread's own: the origin keeps and updates that many sessions, as a large audience makes it.
CMCD_LUA="$BENCH_TMP/cmcd.lua"
cmcd_lua "$CMCD_LUA"
# The same requests with the argument named otherwise (the origin ignores it): the baseline CMCD is measured against,
# so that wrk's own per-request Lua work, on the same two cores, weighs on both sides alike.
QUERY_LUA="$BENCH_TMP/query.lua"
sed 's/?CMCD=/?XMCD=/' "$CMCD_LUA" >"$QUERY_LUA"
wait_until 20 curl -fsS -o /dev/null "$NGX_BASE$SEG_PATH" || die "nginx does not serve $SEG_PATH"
[[ $(curl -fsS -o /dev/null -w '%{content_type}' "$NGX_BASE$SEG_PATH") == "$SEG_TYPE" ]] || die "nginx Content-Type differs for the segment"


# A row with any non-2xx answer or socket error measured something else (a 404 is cheap): it is shown but left
# out of the means, together with the other side's row of the same round, so the ratio compares like with like.
rows=""
declare -A SUM=() CNT=()
for ((r = 1; r <= ROUNDS; r++)); do
  ((r == 1)) || pick_hot
  for what in segment playlist; do
    path=$SEG_PATH; [[ $what == playlist ]] && path=$PL_PATH
    declare -A got=()
    valid=1
    for side in ours query cmcd nginx; do
      [[ $side == ours && $ONLY == nginx ]] && continue
      [[ ($side == cmcd || $side == query) && $CMCD != 1 ]] && continue
      [[ $side == nginx && $ONLY == ours ]] && continue
      base=$NGX_BASE; [[ $side != nginx ]] && base=$HTTP_BASE
      script=""; [[ $side == cmcd ]] && script=$CMCD_LUA; [[ $side == query ]] && script=$QUERY_LUA
      log "round $r: wrk $what on $side ($base$path)"
      read -r rps lat bad errs < <(run_wrk "$r-$what-$side" "$base$path" "$script")
      note=""
      if ((bad > 0 || errs > 0)); then valid=0; note=" (invalid)"; log "  WARNING: $bad non-2xx responses, $errs socket errors: row left out"; fi
      got[$side]=$rps
      log "  $rps req/s, avg latency $lat, non-2xx $bad, socket errors $errs"
      rows+="| $r | $what | $side | $rps$note | $lat | $bad | $errs |"$'\n'
    done
    if ((valid)); then
      for side in "${!got[@]}"; do
        SUM["$what-$side"]=$(awk -v a="${SUM["$what-$side"]:-0}" -v b="${got[$side]}" 'BEGIN { print a + b }')
      done
      CNT[$what]=$((${CNT[$what]:-0} + 1))
    fi
    unset got
  done
done

summary=""
cmcd_summary=""
for what in segment playlist; do
  n=${CNT[$what]:-0}
  o=$(awk -v s="${SUM["$what-ours"]:-}" -v n="$n" 'BEGIN { if (s == "" || n == 0) print "-"; else printf "%.0f", s / n }')
  g=$(awk -v s="${SUM["$what-nginx"]:-}" -v n="$n" 'BEGIN { if (s == "" || n == 0) print "-"; else printf "%.0f", s / n }')
  rr=$(ratio "$o" "$g")
  target=0.8; [[ $what == playlist ]] && target=1.0
  v=$(awk -v r="$rr" -v t="$target" 'BEGIN { if (r == "n/a") print "n/a"; else print (r >= t ? "met" : "NOT met") " (>= " t ")" }')
  summary+="| $what | $n | $o | $g | **$rr** | $v |"$'\n'
  if [[ $CMCD == 1 ]]; then
    c=$(awk -v s="${SUM["$what-cmcd"]:-}" -v n="$n" 'BEGIN { if (s == "" || n == 0) print "-"; else printf "%.0f", s / n }')
    q=$(awk -v s="${SUM["$what-query"]:-}" -v n="$n" 'BEGIN { if (s == "" || n == 0) print "-"; else printf "%.0f", s / n }')
    cr=$(ratio "$c" "$q")
    cv=$(awk -v r="$cr" 'BEGIN { if (r == "n/a") print "n/a"; else print (r >= 0.95 ? "met" : "NOT met") " (>= 0.95)" }')
    cmcd_summary+="| $what | $c | $q | $o | **$cr** | $cv |"$'\n'
  fi
done
cmcd_table=""
[[ $CMCD == 1 ]] && cmcd_table="
| object | ours, CMCD req/s | ours, same query not CMCD | ours, no query | CMCD / not CMCD | target |
|---|---|---|---|---|---|
${cmcd_summary}"

table="| object | valid rounds | ours req/s | nginx req/s | ours / nginx | target |
|---|---|---|---|---|---|
${summary}${cmcd_table}
Hot segment (newest listed, re-picked each round; last one): \`$SEG_PATH\` ($SEG_BYTES bytes, \`$SEG_TYPE\`);
playlist: \`$PL_PATH\` ($PL_BYTES bytes, \`$PL_TYPE\`). One publisher streams to ours throughout.
wrk -t$THREADS -c$CONNECTIONS -d${WRK_SECONDS}s per row, $ROUNDS round(s), ours and nginx alternating; means over valid rounds above.

| round | object | server | req/s | avg latency | non-2xx | socket errors |
|---|---|---|---|---|---|---|
${rows}"
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "origin: hot segment and live playlist over HTTP" "$table"

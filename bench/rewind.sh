#!/usr/bin/env bash
# Rewind window cost at the origin: the live media playlist of a four-hour rewind window beside a 30-second one, by
# size and by requests per second, and what delta updates (RFC 8216bis 6.2.5.1, ?_HLS_skip=YES) save. A player of a
# rewind window reloads the playlist every target duration: without delta updates each reload is the whole window.
#
# The 30-second playlist is our packager's, from a live publish to a channel with rewindSeconds=30. A four-hour
# broadcast cannot be published here in a bench's time, so its playlist is that playlist's own text extended to 7,200
# segments of 2 s (same header, EXT-X-MAP, PROGRAM-DATE-TIME and EXTINF lines, numbers counting on), written into the
# server's store under a channel of its own; the origin serves and delta-updates it as it would the packager's.
# The packager stores a rewind window's delta update beside its playlist (index-skip.m3u8); the bench stores the
# four-hour one there as the origin makes it, and also serves a copy without it (\`-bare\`: the origin then makes the
# delta from the whole playlist per request, as it does for a low-latency playlist).
# The peer is nginx serving the same four-hour playlist from disk (sendfile): an origin without delta updates.
# wrk (THREADS threads, CONNECTIONS connections, WRK_SECONDS s) per row.
#
# Usage: bench/rewind.sh
#        ROUNDS=3 WRK_SECONDS=10 CONNECTIONS=64 THREADS=2 bench/rewind.sh
#        BUILD=0 skips the dotnet build; KEEP_TMP=1 keeps logs.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

wrk_settings
BENCH_COMMAND="$(dotnet_env)ROUNDS=$ROUNDS WRK_SECONDS=$WRK_SECONDS CONNECTIONS=$CONNECTIONS THREADS=$THREADS bench/rewind.sh"
SEGMENTS_4H=7200

"$REPO_DIR/scripts/deps.sh" nginx wrk ffmpeg curl
bench_init
ensure_clip
server_build
SRV_DIR="$BENCH_TMP/ours"
server_start "$SRV_DIR"
read -r KEY SLUG < <(create_channel "rewind-bench-$RANDOM")
CHANNEL_ID=$(curl -fsS "$HTTP_BASE/api/channels" -H "Authorization: Bearer $ADMIN_TOKEN" | tr '{' '\n' | grep "\"slug\":\"$SLUG\"" | json_field id)
[[ -n "$CHANNEL_ID" ]] || die "channel $SLUG not listed"
curl -fsS -X PATCH "$HTTP_BASE/api/channels/$CHANNEL_ID" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"rewindSeconds":30}' >/dev/null || die "PATCH rewindSeconds failed"
log "publishing to channel $SLUG (rewind window 30 s)"
timeout --kill-after=5 900 ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$CLIP" \
  -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" >"$BENCH_TMP/publisher.log" 2>&1 &
BENCH_PIDS+=($!)
SHORT_URL="$HTTP_BASE/live/$SLUG/source/index.m3u8"
window_full() { [[ $(curl -fsS "$SHORT_URL" | grep -c '^#EXTINF') -ge 14 ]]; }
wait_until 120 window_full || { tail -20 "$SRV_DIR/server.log" >&2; die "no 30 s window in $SHORT_URL after 120 s"; }

# The four-hour playlist: the live one's header and first segment's tags, then SEGMENTS_4H segments of its first duration.
LONG_SLUG="rewind-bench-4h"
LONG_DIR="$SRV_DIR/media/$LONG_SLUG/source"
mkdir -p "$LONG_DIR"
curl -fsS "$SHORT_URL" >"$BENCH_TMP/short.m3u8"
awk -v n="$SEGMENTS_4H" '
  /^#EXTINF:/ && !dur { dur = $0 }
  !/^#EXTINF:/ && !/^[^#]/ && !seen { print; next }
  /^[^#]/ && !seen { seen = 1; split($0, parts, "-"); id = parts[1]; for (i = 1; i <= n; i++) { print dur; print id "-" i ".m4s" } }
' "$BENCH_TMP/short.m3u8" | sed 's/^#EXT-X-MEDIA-SEQUENCE:.*/#EXT-X-MEDIA-SEQUENCE:1/' >"$LONG_DIR/index.m3u8.tmp"
mv "$LONG_DIR/index.m3u8.tmp" "$LONG_DIR/index.m3u8"
LONG_URL="$HTTP_BASE/live/$LONG_SLUG/source/index.m3u8"
[[ $(curl -fsS "$LONG_URL" | grep -c '^#EXTINF') -eq $SEGMENTS_4H ]] || die "the origin does not serve the four-hour playlist"
BARE_DIR="$SRV_DIR/media/$LONG_SLUG-bare/source"
mkdir -p "$BARE_DIR"; cp "$LONG_DIR/index.m3u8" "$BARE_DIR/index.m3u8"
BARE_URL="$HTTP_BASE/live/$LONG_SLUG-bare/source/index.m3u8"
curl -fsS "$LONG_URL?_HLS_skip=YES" >"$BENCH_TMP/delta.m3u8"
grep -q '^#EXT-X-SKIP:SKIPPED-SEGMENTS=' "$BENCH_TMP/delta.m3u8" || die "no delta update of the four-hour playlist"
cp "$BENCH_TMP/delta.m3u8" "$LONG_DIR/index-skip.m3u8"

WWW="$BENCH_TMP/www"; mkdir -p "$WWW/live/$LONG_SLUG/source"
cp "$LONG_DIR/index.m3u8" "$WWW/live/$LONG_SLUG/source/index.m3u8"; chmod -R a+rX "$WWW"
NGX_DIR="$BENCH_TMP/nginx"; NGX_PORT=$(free_port)
nginx_start "$NGX_DIR" "worker_processes auto;
events { worker_connections 4096; }
http {
  types { application/vnd.apple.mpegurl m3u8; }
  sendfile on; tcp_nopush on; tcp_nodelay on; access_log off;
  keepalive_timeout 65; keepalive_requests 1000000;
  server { listen 127.0.0.1:$NGX_PORT; root $WWW; }
}"
NGX_LONG_URL="http://127.0.0.1:$NGX_PORT/live/$LONG_SLUG/source/index.m3u8"
wait_until 20 curl -fsS -o /dev/null "$NGX_LONG_URL" || die "nginx does not serve the four-hour playlist"

size() { curl -fsS "$1" | wc -c; }
SHORT_BYTES=$(size "$SHORT_URL"); SHORT_DELTA_BYTES=$(size "$SHORT_URL?_HLS_skip=YES")
LONG_BYTES=$(size "$LONG_URL"); LONG_DELTA_BYTES=$(size "$LONG_URL?_HLS_skip=YES")
log "sizes: 30 s $SHORT_BYTES B (delta $SHORT_DELTA_BYTES B), 4 h $LONG_BYTES B (delta $LONG_DELTA_BYTES B)"

declare -A URLS=([ours-30s]="$SHORT_URL" [ours-30s-delta]="$SHORT_URL?_HLS_skip=YES" [ours-4h]="$LONG_URL"
  [ours-4h-delta]="$LONG_URL?_HLS_skip=YES" [ours-4h-delta-made]="$BARE_URL?_HLS_skip=YES" [nginx-4h]="$NGX_LONG_URL")
ORDER=(ours-30s ours-30s-delta ours-4h-delta ours-4h-delta-made ours-4h nginx-4h)
rows=""
declare -A SUM=()
for ((r = 1; r <= ROUNDS; r++)); do
  for what in "${ORDER[@]}"; do
    log "round $r: wrk $what (${URLS[$what]})"
    read -r rps lat bad errs < <(run_wrk "$r-$what" "${URLS[$what]}")
    ((bad == 0 && errs == 0)) || die "$what: $bad non-2xx answers, $errs socket errors"
    log "  $rps req/s, avg latency $lat"
    rows+="| $r | $what | $rps | $lat |"$'\n'
    SUM[$what]=$(awk -v a="${SUM[$what]:-0}" -v b="$rps" 'BEGIN { print a + b }')
  done
done
mean() { awk -v s="${SUM[$1]}" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }'; }

table="| playlist | bytes per reload | req/s (mean of $ROUNDS) |
|---|---|---|
| ours, 30 s window, whole | $SHORT_BYTES | $(mean ours-30s) |
| ours, 30 s window, delta update | $SHORT_DELTA_BYTES | $(mean ours-30s-delta) |
| ours, 4 h window, delta update stored beside it | $LONG_DELTA_BYTES | $(mean ours-4h-delta) |
| ours, 4 h window, delta update made per request (none stored) | $LONG_DELTA_BYTES | $(mean ours-4h-delta-made) |
| ours, 4 h window, whole | $LONG_BYTES | $(mean ours-4h) |
| nginx, 4 h window, whole (no delta updates) | $LONG_BYTES | $(mean nginx-4h) |

Ratios: 4 h delta / 30 s whole, req/s **$(ratio "$(mean ours-4h-delta)" "$(mean ours-30s)")**; 4 h delta / nginx 4 h whole, req/s
**$(ratio "$(mean ours-4h-delta)" "$(mean nginx-4h)")**; bytes per reload, 4 h delta / 4 h whole:
**$(awk -v a="$LONG_DELTA_BYTES" -v b="$LONG_BYTES" 'BEGIN { printf "%.2f %%", 100 * a / b }')**.
The four-hour playlist is the live 30 s one's text extended to $SEGMENTS_4H segments (see the script's header).
wrk -t$THREADS -c$CONNECTIONS -d${WRK_SECONDS}s per row; one publisher streams to ours throughout.

| round | request | req/s | avg latency |
|---|---|---|---|
${rows}"
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "rewind: a four-hour window's live playlist beside a 30-second one" "$table"

#!/usr/bin/env bash
# Packaging latency: how long after a segment's last frame was sent does the media playlist list that segment?
# A live publisher (ffmpeg -re -c copy of a testsrc2 + sine clip, H.264 2 s GOP + AAC) pushes to nginx-rtmp with its own
# HLS (the peer), then to our server, in one run. The media playlist is polled every POLL_MS ms with curl; every
# newly listed segment is timed against the wall clock two ways:
#   (b) sent: listed_at - the moment the keyframe that ends the segment left the publisher (a segment can only be
#             closed when the next keyframe arrives). That moment is read from the kernel: the publisher socket's
#             bytes_sent (ss -ti), sampled every ~6 ms around each expected keyframe; a keyframe is the one jump of
#             > 6 KB. Independent of the server's clock, same method for both servers. Target: <= ~150 ms.
#   (a) PDT:  listed_at - (EXT-X-PROGRAM-DATE-TIME + EXTINF), by the server's own wall-clock stamp (ours only:
#             nginx-rtmp writes no PDT). (a) - (b) shows how far the PDT is from the real send clock.
# listed_at is when the poll that first saw it started, so both carry +-POLL_MS of resolution.
#
# Usage: bench/latency.sh                    DURATION=40 s of publishing per server, POLL_MS=20
#        ONLY=nginx bench/latency.sh          (peer half only; ONLY=ours for ours only)
#        BUILD=0 skips the dotnet build; KEEP_TMP=1 keeps logs and the per-segment timings.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-40}
POLL_MS=${POLL_MS:-20}
ONLY=${ONLY:-both}
((DURATION >= 10 && DURATION <= 600)) || die "DURATION must be 10..600 seconds"
((POLL_MS >= 5 && POLL_MS <= 999)) || die "POLL_MS must be 5..999"
only_arg=""; [[ $ONLY == both ]] || only_arg="ONLY=$ONLY "
BENCH_COMMAND="$(dotnet_env)${only_arg}DURATION=$DURATION POLL_MS=$POLL_MS bench/latency.sh"

"$REPO_DIR/scripts/deps.sh" nginx libnginx-mod-rtmp ffmpeg curl iproute2
bench_init

# The publisher sends a pre-encoded testsrc2 clip (-c copy) rather than encoding live: with no encoder, ffmpeg's
# -re clock starts as it sends the first keyframe and nothing slow comes after, so "first keyframe sent + media
# time" is when each later frame leaves. (Encoding live put a variable 0.1-0.7 s of x264 start-up on this loaded
# machine inside the stream's first seconds.)
testsrc_clip 120 60

# Media playlist -> one line per segment: "seq uri extinf pdt_epoch" (pdt "-" when the playlist has none).
# PROGRAM-DATE-TIME applies to its segment and, advanced by EXTINF, to the ones after it (RFC 8216 4.3.2.6).
# ISO 8601 -> epoch in awk (days from civil), so a poll forks nothing but curl.
parse_playlist() {
  awk '
    function epoch(s,   y, mo, d, h, mi, sec, rest, tz, sign, era, yoe, doy, doe, days) {
      y = substr(s, 1, 4) + 0; mo = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
      h = substr(s, 12, 2) + 0; mi = substr(s, 15, 2) + 0
      rest = substr(s, 18); sec = rest + 0; tz = 0
      if (match(rest, /[+-][0-9][0-9]:?[0-9][0-9]$/)) {
        z = substr(rest, RSTART); sign = substr(z, 1, 1) == "-" ? -1 : 1; gsub(":", "", z)
        tz = sign * (substr(z, 2, 2) * 3600 + substr(z, 4, 2) * 60)
      }
      if (mo <= 2) y -= 1
      era = int(y / 400); yoe = y - era * 400
      doy = int((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1
      doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
      days = era * 146097 + doe - 719468
      return days * 86400 + h * 3600 + mi * 60 + sec - tz
    }
    /^#EXT-X-MEDIA-SEQUENCE:/ { seq = substr($0, 23) + 0 }
    /^#EXT-X-PROGRAM-DATE-TIME:/ { pdt = epoch(substr($0, 26)) }
    /^#EXTINF:/ { dur = substr($0, 9) + 0 }
    /^[^#]/ && NF {
      printf "%d %s %.6f %s\n", seq, $0, dur, (pdt == "" ? "-" : sprintf("%.3f", pdt))
      if (pdt != "") pdt += dur
      seq++
    }'
}

# measure NAME PLAYLIST_URL RTMP_URL RTMP_PORT -> appends per-segment lines to $BENCH_TMP/NAME.segs and sets MEASURE_RESULT
measure() {
  local name=$1 url=$2 rtmp=$3 segs="$BENCH_TMP/$1.segs" t_start pub seq uri dur pdt now body
  local -A seen=() durs=()
  : >"$segs"
  t_start=$EPOCHREALTIME
  local loop=(); ((DURATION > 120)) && loop=(-stream_loop -1)
  ffmpeg -nostdin -nostats -hide_banner -loglevel warning -re "${loop[@]}" -i "$LCLIP" \
    -t "$DURATION" -c copy -f flv "$rtmp" >"$BENCH_TMP/$name.publisher.log" 2>&1 &
  pub=$!
  BENCH_PIDS+=("$pub")
  # Media time 0 leaves the publisher with its first keyframe: the first moment its socket to the RTMP port has
  # sent more than handshake + connect/publish commands + metadata + sequence headers (~4.5 KB; the clip's
  # keyframes are > 8 KB and each goes out in one write). Read from the kernel's per-socket bytes_sent (ss -ti),
  # polled every ~5 ms: ffmpeg writes sockets with send(), which /proc/PID/io does not count.
  mkfifo "$BENCH_TMP/$name.sleep"; exec {SLEEP_FD}<>"$BENCH_TMP/$name.sleep"
  local sent t_first="" i
  for ((i = 0; i < 2000; i++)); do
    sent=$(ss -tinH state established "dport = :$4" 2>/dev/null | grep -o 'bytes_sent:[0-9]*' | head -1 || true)
    if [[ -n "$sent" ]] && ((${sent#bytes_sent:} >= 8000)); then t_first=$EPOCHREALTIME; break; fi
    kill -0 "$pub" 2>/dev/null || break
    read -r -t 0.003 -u "$SLEEP_FD" || true
  done
  [[ -n "$t_first" ]] || die "$name: could not see the publisher send its first keyframe"
  log "$name: first keyframe sent $(awk -v a="$t_start" -v b="$t_first" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms after launch"
  t_start=$t_first
  # Every later keyframe's real send time: around each expected time (first + k * GOP) sample bytes_sent every
  # few ms; the keyframe is the sample whose increase is >= 6000 bytes (keyframes are > 8 KB, a P-frame plus
  # audio < 5 KB in this clip). Extrapolating from the first keyframe instead is off by ffmpeg's -re start-up.
  keyframe_sampler "$4" "$t_first" "$pub" "$BENCH_TMP/$name.keys" &
  local ksampler=$!
  BENCH_PIDS+=("$ksampler")
  log "$name: publishing ${DURATION}s, polling $url every ${POLL_MS} ms"
  local deadline=$((SECONDS + DURATION + 20))
  local polls=0 t_poll0=$EPOCHREALTIME
  while kill -0 "$pub" 2>/dev/null && ((SECONDS < deadline)); do
    now=$EPOCHREALTIME
    polls=$((polls + 1))
    if body=$(curl -fsS --max-time 2 "$url" 2>/dev/null); then
      while read -r seq uri dur pdt; do
        [[ -n "${seen[$uri]:-}" ]] && continue
        seen[$uri]=1; durs[$seq]=$dur
        echo "$seq $now $dur $pdt $uri" >>"$segs"
      done < <(parse_playlist <<<"$body")
    fi
    # Sleep what is left of the period, without forking: read -t on a FIFO nobody writes to.
    local spent=$(( ${EPOCHREALTIME/./} - ${now/./} )) left
    left=$(( POLL_MS * 1000 - spent ))
    if ((left > 0)); then printf -v left '0.%06d' "$left"; read -r -t "$left" -u "$SLEEP_FD" || true; fi
  done
  POLL_MEAN_MS=$(awk -v a="$t_poll0" -v b="$EPOCHREALTIME" -v n="$polls" 'BEGIN { printf "%.0f", (b - a) * 1000 / (n ? n : 1) }')
  log "$name: $polls polls, one every $POLL_MEAN_MS ms on average"
  kill "$ksampler" 2>/dev/null || true; wait "$ksampler" 2>/dev/null || true
  kill -0 "$pub" 2>/dev/null && { log "$name: publisher overran; stopping it"; stop_tree "$pub"; }
  wait "$pub" 2>/dev/null || log "$name: publisher exited non-zero: $(tail -2 "$BENCH_TMP/$name.publisher.log" | tr '\n' ' ')"
  # Per segment: (a) listed - (pdt + dur); (b) listed - (t_start + cumulative media end). (b) needs the first
  # segment seen to be the stream's first (sequence numbers from 0 or 1 with no gap), else "-".
  # keyframe send times: "k t" for each k with a detected jump.
  # The jump happened after the previous query (>= its t_before) and before this one (<= its t_after): the
  # midpoint, +-half the gap (~6 ms on a quiet machine). A gap over 30 ms (ss stalled under load) can hold two
  # frames (33 ms apart) adding up to 6 KB, so such a jump is not trusted: that segment gets no (b) value.
  awk '$1 != win { win = $1; prev = "" }
    prev != "" && $4 - prev >= 6000 && !($1 in key) { key[$1] = 1; if ($3 - ptb <= 0.030) printf "%d %.6f\n", $1, (ptb + $3) / 2 }
    { prev = $4; ptb = $2 }' "$BENCH_TMP/$name.keys" >"$BENCH_TMP/$name.keytimes"
  log "$name: saw $(wc -l <"$BENCH_TMP/$name.keytimes") keyframes leave the publisher"
  sort -n "$segs" | awk -v t0="$t_start" -v gop="$GOP_S" -v keys="$BENCH_TMP/$name.keytimes" '
    BEGIN { while ((getline line < keys) > 0) { split(line, f, " "); kt[f[1]] = f[2] } }
    NR == 1 { first = $1; ok_b = 1 }
    {
      if ($1 != first + NR - 1) ok_b = 0
      cum += $3
      a = ($4 == "-") ? "-" : sprintf("%.3f", $2 - ($4 + $3))
      # The segment ends where keyframe k = round(cum / GOP) starts; its send time if seen, else "-".
      k = int(cum / gop + 0.5)
      b = (ok_b && (k in kt)) ? sprintf("%.3f", $2 - kt[k]) : "-"
      print $1, $3, a, b
    }' >"$segs.lat"
  # Skip the first segment (start-up: encoder warm-up, channel set-up) from the statistics, keep it in the log.
  MEASURE_RESULT=$(awk '
    NR > 1 {
      n++
      if ($3 != "-") { na++; sa += $3; if (na == 1 || $3 > ma) ma = $3; if (na == 1 || $3 < mina) mina = $3 }
      if ($4 != "-") { nb++; sb += $4; if (nb == 1 || $4 > mb) mb = $4 }
      sd += $2
    }
    function f(x) { return sprintf("%.0f", x * 1000) }
    END {
      printf "%d %s %s %s %s %s %s %s\n", n, (n ? sprintf("%.2f", sd / n) : "-"),
        (na ? f(sa / na) : "-"), (na ? f(mina) : "-"), (na ? f(ma) : "-"), (nb ? f(sb / nb) : "-"), (nb ? f(mb) : "-"), nb + 0
    }' "$segs.lat")
  log "$name: $MEASURE_RESULT (segments, mean dur s, pdt mean/min/max ms, sent mean/max ms, segments with a sent time)"
}

GOP_S=2 # the clip's keyframe interval (-g 60 at 30 fps)

# keyframe_sampler PORT T_FIRST PUB_PID OUT: for k = 1, 2, ... while the publisher runs, samples the publisher
# socket's bytes_sent from 250 ms before to 350 ms after T_FIRST + k * GOP_S; writes "k t_before t_after bytes_sent"
# (the clock read just before and just after ss, which takes a few ms to fork and query the kernel).
keyframe_sampler() {
  set +e +o pipefail
  local port=$1 t0=$2 pub=$3 out=$4 k fd now target from to s
  mkfifo "$BENCH_TMP/sampler.$BASHPID.fifo" && exec {fd}<>"$BENCH_TMP/sampler.$BASHPID.fifo"
  local t0us=${t0/./}
  for ((k = 1; k <= DURATION / GOP_S + 1; k++)); do
    kill -0 "$pub" 2>/dev/null || break
    target=$((t0us + k * GOP_S * 1000000)); from=$((target - 250000)); to=$((target + 350000))
    now=${EPOCHREALTIME/./}
    while ((now < from)); do
      local left=$((from - now)); ((left > 900000)) && left=900000
      printf -v left '0.%06d' "$left"; read -r -t "$left" -u "$fd"
      now=${EPOCHREALTIME/./}
    done
    while ((now < to)); do
      local tb=$EPOCHREALTIME
      s=$(ss -tinH state established "dport = :$port" 2>/dev/null | grep -o 'bytes_sent:[0-9]*' | head -1)
      [[ -n "$s" ]] && echo "$k $tb $EPOCHREALTIME ${s#bytes_sent:}"
      read -r -t 0.002 -u "$fd"
      now=${EPOCHREALTIME/./}
    done
  done >"$out"
}

NGINX_RESULT="" OURS_RESULT="" PART_RESULT=""

# Low latency: frame arrival to the part holding it being listed. The LL-HLS media playlist is polled every POLL_MS
# ms; each newly listed EXT-X-PART is timed from its start on the server's wall clock (the segment's
# EXT-X-PROGRAM-DATE-TIME plus the parts before it: the packager stamps media time against the arrival of the first
# frame, and the publisher sends in real time, so this is when the part's first frame arrived). A part can only be
# listed once its last frame (and the one after, which closes it) has arrived: the target is its duration + <= 100 ms.
# Sets PART_RESULT="parts mean_dur_ms mean_ms max_ms over_target mean_excess_ms".
part_measure() { # playlist_url rtmp_url
  local url=$1 rtmp=$2 pub body now out="$BENCH_TMP/parts.lat"
  local -A seen=()
  : >"$out"
  ffmpeg -nostdin -hide_banner -loglevel error -re -i "$LCLIP" -t 30 -c copy -f flv "$rtmp" &
  pub=$!
  BENCH_PIDS+=("$pub")
  mkfifo "$BENCH_TMP/parts.sleep"; exec {PSLEEP}<>"$BENCH_TMP/parts.sleep"
  while kill -0 "$pub" 2>/dev/null; do
    now=$EPOCHREALTIME
    if body=$(curl -fsS --max-time 2 "$url" 2>/dev/null); then
      while read -r uri start dur; do
        [[ -n "${seen[$uri]:-}" ]] && continue
        seen[$uri]=1
        echo "$uri $now $start $dur" >>"$out"
      done < <(awk '
        function epoch(s,   y, mo, d, era, yoe, doy, doe) {
          y = substr(s, 1, 4) + 0; mo = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
          if (mo <= 2) y -= 1
          era = int(y / 400); yoe = y - era * 400
          doy = int((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1
          doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
          return (era * 146097 + doe - 719468) * 86400 + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18) + 0
        }
        /^#EXT-X-PROGRAM-DATE-TIME:/ { cur = epoch(substr($0, 26)); po = 0 }
        /^#EXT-X-PART:/ {
          d = $0; sub(/.*DURATION=/, "", d); d += 0
          u = $0; sub(/.*URI="/, "", u); sub(/".*/, "", u)
          if (cur != "") printf "%s %.3f %.5f\n", u, cur + po, d
          po += d
        }
        /^#EXTINF:/ { dur = substr($0, 9) + 0 }
        /^[^#]/ && NF { if (cur != "") cur += dur; po = 0 }' <<<"$body")
    fi
    local spent=$(( ${EPOCHREALTIME/./} - ${now/./} )) left
    left=$(( POLL_MS * 1000 - spent ))
    if ((left > 0)); then printf -v left '0.%06d' "$left"; read -r -t "$left" -u "$PSLEEP" || true; fi
  done
  wait "$pub" 2>/dev/null || true
  # The first listing shows parts that were written before polling began: only parts first seen after the first poll count.
  PART_RESULT=$(awk 'NR == 1 { t0 = $2 } $2 > t0 {
      n++; l = ($2 - $3) * 1000; sl += l; sd += $4 * 1000; if (l > mx) mx = l
      ex = l - $4 * 1000; se += ex; if (ex > 100) over++ }
    END { if (!n) { print "0 - - - - -"; exit }
      printf "%d %.0f %.0f %.0f %d %.0f\n", n, sd / n, sl / n, mx, over + 0, se / n }' "$out")
  log "parts: $PART_RESULT (parts, mean duration ms, listed - part start: mean / max ms, parts over duration + 100 ms, mean excess ms)"
}

# Player-side latency: publish the same clip live again and let hls.js (in Debian's Chromium, through
# bench/player-latency.mjs) report its distance to the live edge, and, where the playlist carries
# EXT-X-PROGRAM-DATE-TIME, the wall-clock latency of the frame on screen. Prints "latency_mean latency_max wall_mean wall_max".
PLAYER_SECONDS=${PLAYER_SECONDS:-20}
player_measure() { # playlist_url rtmp_url [--dash]
  local url=$1 rtmp=$2 out
  ffmpeg -nostdin -hide_banner -loglevel error -re -i "$LCLIP" -c copy -f flv "$rtmp" &
  local pub=$!
  wait_until 30 curl -sf -o /dev/null "$url" || { kill "$pub" 2>/dev/null; echo "- - - -"; return; }
  out=$(node "$REPO_DIR/bench/player-latency.mjs" "$url" "$PLAYER_SECONDS" --plain ${3:-} 2>/dev/null || echo "- - - -")
  kill "$pub" 2>/dev/null || true; wait "$pub" 2>/dev/null || true
  log "player: $out"
  echo "$out"
}
(cd "$REPO_DIR/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in bench/ failed"
(cd "$REPO_DIR/tests/players" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in tests/players failed"

if [[ $ONLY == both || $ONLY == nginx ]]; then
  NGX_DIR="$BENCH_TMP/nginx"; NGX_RTMP=$(free_port); NGX_HTTP=$(free_port)
  mkdir -p "$NGX_DIR/www/hls"; chmod -R 777 "$NGX_DIR/www"
  nginx_rtmp_start "$NGX_DIR" "$NGX_RTMP" "hls on; hls_path $NGX_DIR/www/hls; hls_fragment 2s; hls_playlist_length 12s;" \
    "http { types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; } access_log off; sendfile on;
  server { listen 127.0.0.1:$NGX_HTTP; root $NGX_DIR/www; add_header Access-Control-Allow-Origin * always; } }"
  measure nginx "http://127.0.0.1:$NGX_HTTP/hls/bench.m3u8" "rtmp://127.0.0.1:$NGX_RTMP/live/bench" "$NGX_RTMP"
  NGINX_RESULT=$MEASURE_RESULT
  NGINX_POLL=$POLL_MEAN_MS
  NGINX_PLAYER=$(player_measure "http://127.0.0.1:$NGX_HTTP/hls/bench2.m3u8" "rtmp://127.0.0.1:$NGX_RTMP/live/bench2")
  stop_tree "$NGINX_PID"
fi

if [[ $ONLY == both || $ONLY == ours ]]; then
  server_build
  server_start "$BENCH_TMP/ours"
  read -r KEY SLUG < <(create_channel "latency-bench-$RANDOM")
  measure ours "$HTTP_BASE/live/$SLUG/source/index.m3u8" "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" "$RTMP_PORT"
  OURS_RESULT=$MEASURE_RESULT
  OURS_POLL=$POLL_MEAN_MS
  read -r KEY2 SLUG2 < <(create_channel "latency-player-$RANDOM")
  OURS_PLAYER=$(player_measure "$HTTP_BASE/live/$SLUG2/master.m3u8" "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY2")
  # Low latency: the same clip into lowLatency channels. Part listing first, then the players.
  read -r KEY3 SLUG3 < <(create_channel "latency-ll-parts-$RANDOM" true)
  part_measure "$HTTP_BASE/live/$SLUG3/source/index.m3u8" "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY3"
  read -r KEY4 SLUG4 < <(create_channel "latency-llhls-$RANDOM" true)
  OURS_LLHLS=$(player_measure "$HTTP_BASE/live/$SLUG4/master.m3u8" "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY4")
  read -r KEY5 SLUG5 < <(create_channel "latency-dash-$RANDOM")
  OURS_DASH=$(player_measure "$HTTP_BASE/live/$SLUG5/manifest.mpd" "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY5" --dash)
  read -r KEY6 SLUG6 < <(create_channel "latency-lldash-$RANDOM" true)
  OURS_LLDASH=$(player_measure "$HTTP_BASE/live/$SLUG6/manifest.mpd" "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY6" --dash)
fi

read -r nn nd npm npmin npx nsm nsx npn <<<"${NGINX_RESULT:-0 - - - - - - 0}"
read -r on od opm opmin opx osm osx opn <<<"${OURS_RESULT:-0 - - - - - - 0}"
verdict=$(awk -v m="$osm" -v x="$osx" 'BEGIN { if (m == "-") print "n/a"; else print ((x + 0 <= 150) ? "met" : "NOT met") " (mean " m " ms, max " x " ms)" }')
table="| server | segments | mean EXTINF s | (b) listed - closing keyframe sent: mean / max ms | (a) listed - PDT end: mean / min / max ms |
|---|---|---|---|---|
| nginx-rtmp HLS (hls_fragment 2s) | $nn | $nd | $nsm / $nsx (on $npn) | $npm / $npmin / $npx |
| Broadcast (source rendition) | $on | $od | $osm / $osx (on $opn) | $opm / $opmin / $opx |

Publisher: \`ffmpeg -re -c copy\` of a testsrc2 640x360 30 fps clip, H.264 GOP 60 (2 s), AAC; ${DURATION}s per server;
playlist polled every ${POLL_MS} ms (measured: nginx every ${NGINX_POLL:--} ms, ours every ${OURS_POLL:--} ms, curl included) (first segment left out of the statistics). (b) is timed from the closing keyframe leaving the publisher's socket (ss -ti bytes_sent, ~6 ms samples).
Target: (b) <= ~150 ms for ours: **$verdict**."
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "latency: segment end to playlist" "$table"

read -r nlm nlx nwm nwx <<<"${NGINX_PLAYER:-- - - -}"
read -r olm olx owm owx <<<"${OURS_PLAYER:-- - - -}"
player_table="| server | hls.js latency mean / max s | wall clock (now - PROGRAM-DATE-TIME on screen) mean / max s |
|---|---|---|
| nginx-rtmp HLS (hls_fragment 2s, MPEG-TS) | $nlm / $nlx | $nwm / $nwx |
| Broadcast (master.m3u8, CMAF) | $olm / $olx | $owm / $owx |

hls.js $(sed -n 's/.*"hls.js": "\(.*\)".*/\1/p' "$REPO_DIR/tests/players/package.json") with default live settings (3 target durations back from the edge), muted autoplay in Debian's Chromium, sampled once a second for ${PLAYER_SECONDS} s after playback starts; the publisher is the same clip with \`ffmpeg -re -c copy\`. nginx-rtmp writes no PROGRAM-DATE-TIME, so it has no wall-clock column."
echo
echo "$player_table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "latency: live latency hls.js reports" "$player_table"

if [[ $ONLY == both || $ONLY == ours ]]; then
  read -r llm llx lwm lwx <<<"${OURS_LLHLS:-- - - -}"
  read -r dlm dlx dwm dwx <<<"${OURS_DASH:-- - - -}"
  read -r zlm zlx zwm zwx <<<"${OURS_LLDASH:-- - - -}"
  read -r pn pd pm px po pe <<<"${PART_RESULT:-0 - - - - -}"
  ll_table="| Broadcast | player | latency mean / max s | wall clock mean / max s |
|---|---|---|---|
| standard HLS (2 s segments) | hls.js | $olm / $olx | $owm / $owx |
| LL-HLS (lowLatency channel, parts of 1/3 s) | hls.js lowLatencyMode | $llm / $llx | $lwm / $lwx |
| DASH (2 s segments) | dash.js | $dlm / $dlx | $dwm / $dwx |
| LL-DASH (lowLatency channel, chunked) | dash.js | $zlm / $zlx | $zwm / $zwx |

Frame arrival to its part being listed (LL-HLS playlist polled every ${POLL_MS} ms, ${pn} parts of ${pd} ms mean):
mean ${pm} ms, max ${px} ms from the part's first frame; mean excess over the part's own duration ${pe} ms, ${po} parts
more than 100 ms over it. Same clip as above (\`ffmpeg -re -c copy\`, 2 s GOP, no ladder); wall clock = now minus the
PROGRAM-DATE-TIME of the frame on screen (hls.js) or dash.js's latency against the UTCTiming clock."
  echo
  echo "$ll_table"
  [[ "${NO_RESULTS:-0}" == 1 ]] || results_append "latency: LL-HLS and LL-DASH" "$ll_table"
fi

#!/usr/bin/env bash
# The packaging cost of Common Encryption: N concurrent publishers (the ingest bench's 720p30 2.5 Mb/s H.264 + AAC clip
# of 30 s, looped for DURATION: ffmpeg -re -stream_loop -1 -c copy) into N channels of one scheme on a fresh server, for
# each scheme in turn: first "none" (the clear build, the peer), then each of SCHEMES. Measures the server's CPU-seconds
# over the steady state (SETTLE seconds after the start to the end; utime+stime of the process tree) and reports each
# scheme's CPU over the clear run's.
# ROUNDS alternates the sides (none, cbcs, none, cbcs…) so a machine whose load drifts over the run weighs on both.
# Each side also checks that its channels served encrypted playlists (EXT-X-KEY for a scheme, none for the clear one).
# Target (#69): cbcs at most 1.15x the clear packaging at 20 publishers. A scheme written SCHEME/R (e.g. cbcs/1) rotates
# its key every R segments (the channel's keyRotationSegments); its side also checks that its playlists name two keys or more,
# once the first rotation is in their window ((R + 2) x 2 s after the start, which DURATION must pass).
#
# Usage: bench/protection.sh          N=20 DURATION=30 SETTLE=10 SCHEMES="cbcs" ROUNDS=1 by default
#        N=5 DURATION=15 SETTLE=5 SCHEMES="cbcs cenc" bench/protection.sh
#        SCHEMES="cbcs cbcs/1" bench/protection.sh   (key rotation every segment beside one key per broadcast)
#        DURATION=60 SCHEMES="cbcs cbcs/10" bench/protection.sh   (every 10 segments, a channel's common setting)
#        BUILD=0 skips the dotnet build; KEEP_TMP=1 keeps logs.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

N=${N:-20}
DURATION=${DURATION:-30}
SETTLE=${SETTLE:-10}
SCHEMES=${SCHEMES:-cbcs}
ROUNDS=${ROUNDS:-1}
((N >= 1 && N <= 100)) || die "N must be 1..100"
((DURATION >= 10 && DURATION <= 600)) || die "DURATION must be 10..600 seconds"
((SETTLE >= 1 && SETTLE <= DURATION - 5)) || die "SETTLE must be 1..DURATION-5 seconds"
((ROUNDS >= 1 && ROUNDS <= 5)) || die "ROUNDS must be 1..5"
for s in $SCHEMES; do [[ $s =~ ^(cbcs|cenc)(/[0-9]+)?$ ]] || die "SCHEMES holds cbcs, cenc, cbcs/R or cenc/R, not '$s'"; done
for s in $SCHEMES; do
  [[ $s == */* ]] && (( (${s#*/} + 2) * 2 > DURATION - 2 )) && die "a rotation every ${s#*/} segments is first seen at $(( (${s#*/} + 2) * 2 )) s: DURATION must be over that by 2 s"
done
BENCH_COMMAND="$(dotnet_env)N=$N DURATION=$DURATION SETTLE=$SETTLE SCHEMES=\"$SCHEMES\" ROUNDS=$ROUNDS bench/protection.sh"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl
bench_init
ensure_clip
server_build

# keyed_check_at ROTATION -> seconds after the publishers start at which their playlists are looked at: SETTLE, or for a
# rotation every R segments (2 s each), once segment R + 2 is listed, so the window names the second key.
keyed_check_at() {
  local at=$SETTLE
  if [[ -n $1 ]] && (( ($1 + 2) * 2 > at )); then at=$(( ($1 + 2) * 2 )); fi
  echo "$at"
}

# run_scheme SCHEME ROUND -> sets SIDE_RESULT="steady_cpu whole_cpu ok keyed": a fresh server, N channels of SCHEME, N publishers.
run_scheme() {
  local scheme=${1%%/*} rotation="" round=$2 dir="$BENCH_TMP/${1//\//-}-$2" samples t0 t1 ok keyed i key slug p warm keys_named
  [[ $1 == */* ]] && rotation=${1#*/}
  server_start "$dir"
  samples="$dir/samples"
  : >"$dir/keys"; : >"$dir/slugs"
  for ((i = 1; i <= N; i++)); do
    read -r key slug < <(create_channel "bench-$scheme-$round-$i-$RANDOM" false false "$scheme" "$rotation")
    echo "$key" >>"$dir/keys"; echo "$slug" >>"$dir/slugs"
  done
  # One unmeasured publisher first: the runtime's one-time costs (JIT, the encryptor's first use) are not the steady cost.
  read -r warm _ < <(create_channel "warm-$scheme-$round-$RANDOM" false false "$scheme")
  timeout --kill-after=5 40 ffmpeg -nostdin -hide_banner -loglevel warning -re -i "$CLIP" -t 5 -c copy -f flv \
    "rtmp://127.0.0.1:$RTMP_PORT/live/$warm" >"$dir/warmup.log" 2>&1 || log "$scheme: warm-up publisher failed"
  sampler_start "$SERVER_PID" "$samples"
  sleep 1
  t0=$EPOCHREALTIME
  log "$1 (round $round): $N publishers for ${DURATION}s"
  local pids=()
  i=0
  while read -r key; do
    i=$((i + 1))
    ( rc=0; timeout --kill-after=5 $((DURATION + 30)) ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$CLIP" -t "$DURATION" \
        -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$key" >"$dir/pub$i.log" 2>&1 || rc=$?; echo "$rc" >"$dir/pub$i.rc" ) &
    pids+=($!)
  done <"$dir/keys"
  # While they publish: each channel's playlist names a key exactly when its scheme says so. A rotated one is looked at
  # from when its first rotation can be in its window on, and again each second (a loaded node lists it a little later)
  # until two seconds before the publishers stop; it counts once its playlist names two keys or more.
  sleep "$(keyed_check_at "$rotation")"
  local -A named=()
  local wanted=$(( ${rotation:-0} > 0 ? 2 : 1 )) deadline
  deadline=$(awk -v t="$t0" -v d="$DURATION" 'BEGIN { printf "%d", t + d - 2 }')
  while :; do
    while read -r slug; do
      [[ -n ${named[$slug]:-} ]] && continue
      keys_named=$(curl -fsS "$HTTP_BASE/live/$slug/source/index.m3u8" 2>/dev/null | grep -c '^#EXT-X-KEY:' || true)
      if ((keys_named >= wanted)); then named[$slug]=1; fi
    done <"$dir/slugs"
    keyed=${#named[@]}
    if [[ -z $rotation ]] || ((keyed == N)) || (($(date +%s) >= deadline)); then break; fi
    sleep 1
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  sleep 1
  t1=$EPOCHREALTIME
  sampler_stop
  ok=$(cat "$dir"/pub*.rc 2>/dev/null | grep -c '^0$' || true)
  local whole steady _
  read -r whole _ < <(sampler_report "$samples" "$t0" "$t1")
  read -r steady _ < <(sampler_report "$samples" "$(awk -v t="$t0" -v s="$SETTLE" 'BEGIN { printf "%.6f", t + s }')" "$t1")
  stop_tree "$SERVER_PID"
  SIDE_RESULT="$steady $whole $ok $keyed"
  log "$1 (round $round): steady cpu=${steady}s whole=${whole}s publishers ok=$ok/$N playlists with EXT-X-KEY=$keyed/$N"
}

declare -A STEADY WHOLE OK KEYED
for ((r = 1; r <= ROUNDS; r++)); do
  for scheme in none $SCHEMES; do
    run_scheme "$scheme" "$r"
    read -r s w o k <<<"$SIDE_RESULT"
    STEADY[$scheme,$r]=$s; WHOLE[$scheme,$r]=$w; OK[$scheme,$r]=$o; KEYED[$scheme,$r]=$k
  done
done

table="| round | scheme | steady CPU s (after ${SETTLE} s) | whole-run CPU s | steady / clear | publishers ok | playlists with EXT-X-KEY | <= 1.15x |
|---|---|---|---|---|---|---|---|"
for ((r = 1; r <= ROUNDS; r++)); do
  for scheme in none $SCHEMES; do
    rel=$(ratio "${STEADY[$scheme,$r]}" "${STEADY[none,$r]}")
    verdict=$([[ $scheme == none ]] && echo "-" || awk -v x="$rel" 'BEGIN { if (x == "n/a") print "n/a"; else print (x <= 1.15 ? "met" : "NOT met") }')
    table+="
| $r | $scheme | ${STEADY[$scheme,$r]} | ${WHOLE[$scheme,$r]} | $rel | ${OK[$scheme,$r]}/$N | ${KEYED[$scheme,$r]}/$N | $verdict |"
  done
done
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "Packaging CPU with Common Encryption on and off, $N publishers" "$table

One fresh server per row (transcoding off: the packaging alone), $N channels of that row's protection and $N publishers of
the 720p30 2.5 Mb/s clip (\`ffmpeg -re -stream_loop -1 -c copy\`) for ${DURATION} s; CPU of the server's process tree from ${SETTLE} s after
the start to the end, after one unmeasured 5 s publisher. The clear row is the peer."

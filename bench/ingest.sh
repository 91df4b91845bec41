#!/usr/bin/env bash
# RTMP ingest cost: N concurrent publishers, each pushing a 720p30 2.5 Mb/s H.264 + AAC clip in real time
# (ffmpeg -re -c copy), first to nginx-rtmp relaying only, then to nginx-rtmp with its HLS writer on (NGINX_HLS=0
# skips it), then to our server, in one run. Measures the server's CPU-seconds (utime+stime of the process and all its
# children) and peak RSS (largest sum of VmRSS over the process tree, sampled), and how many publishers finished
# cleanly. Reports ours/nginx for each peer.
# Target (issue): CPU <= 1.0x nginx-rtmp with HLS (the relay when that side did not run), RSS <= 300 MB.
#
# Two CPU figures per side from the same samples: the whole run (from the publishers' start to 1 s after the last
# ends) and the steady state (from SETTLE seconds after the start to the same end). The first includes what a burst of
# N new broadcasts costs once (the runtime compiling the code their first seconds take, the channels' setup); the
# second is what those broadcasts cost while they run, the figure a node carries for hours.
#
# Usage: bench/ingest.sh            N=20 DURATION=30 SETTLE=10 by default
#        N=5 DURATION=10 bench/ingest.sh
#        ONLY=nginx bench/ingest.sh  (peer half only; ONLY=ours for ours only)
#        BUILD=0 skips the dotnet build; SERVER_ARGS='--Foo:Bar=1' adds server switches; KEEP_TMP=1 keeps logs.
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

N=${N:-20}
DURATION=${DURATION:-30}
ONLY=${ONLY:-both}
((N >= 1 && N <= 200)) || die "N must be 1..200"
((DURATION >= 5 && DURATION <= 600)) || die "DURATION must be 5..600 seconds"
only_arg=""; [[ $ONLY == both ]] || only_arg=" ONLY=$ONLY"
WARMUP=${WARMUP:-5}
((WARMUP >= 0 && WARMUP <= 60)) || die "WARMUP must be 0..60 seconds"
SETTLE=${SETTLE:-10}
((SETTLE >= 1 && SETTLE <= DURATION - 5)) || die "SETTLE must be 1..DURATION-5 seconds"
BENCH_COMMAND="$(dotnet_env)N=$N DURATION=$DURATION WARMUP=$WARMUP SETTLE=$SETTLE$only_arg${SERVER_ARGS+ SERVER_ARGS='$SERVER_ARGS'} bench/ingest.sh"

"$REPO_DIR/scripts/deps.sh" nginx libnginx-mod-rtmp ffmpeg curl
bench_init
ensure_clip

# publish_all URL_PREFIX KEYS_FILE OUTDIR: N publishers in parallel; each writes its exit code to OUTDIR/i.rc.
# The clip is looped only when DURATION is longer than it; -t bounds every publisher in time.
publish_all() {
  local prefix=$1 keys=$2 out=$3 i key loop=()
  ((DURATION > 30)) && loop=(-stream_loop -1)
  mkdir -p "$out"
  i=0
  while read -r key; do
    i=$((i + 1))
    (
      rc=0
      timeout --kill-after=5 $((DURATION + 30)) \
        ffmpeg -nostdin -hide_banner -loglevel warning -re "${loop[@]}" -i "$CLIP" -t "$DURATION" \
          -c copy -f flv "$prefix/$key" >"$out/$i.log" 2>&1 || rc=$?
      echo "$rc" >"$out/$i.rc"
    ) &
    PUB_PIDS+=($!)
  done <"$keys"
}

# run_side NAME ROOT_PID URL_PREFIX KEYS_FILE WARMUP_KEY -> sets SIDE_RESULT="cpu rss procs ok hwm steady_cpu"
# Before measuring, one publisher streams WARMUP seconds to WARMUP_KEY (unmeasured): the first connection's
# one-time costs (the .NET JIT, lazily created services) are not what N steady publishers cost.
run_side() {
  local name=$1 root=$2 prefix=$3 keys=$4 warm=$5 samples="$BENCH_TMP/$1.samples" out="$BENCH_TMP/$1.pub" t0 t1 ok p
  PUB_PIDS=()
  if ((WARMUP > 0)); then
    log "$name: warm-up, one publisher for ${WARMUP}s (not measured)"
    timeout --kill-after=5 $((WARMUP + 30)) ffmpeg -nostdin -hide_banner -loglevel warning -re -i "$CLIP" -t "$WARMUP" \
      -c copy -f flv "$prefix/$warm" >"$BENCH_TMP/$name.warmup.log" 2>&1 || log "$name: warm-up publisher failed: $(tail -1 "$BENCH_TMP/$name.warmup.log")"
  fi
  sampler_start "$root" "$samples"
  sleep 1 # one idle sample before the load starts: the CPU baseline
  t0=$EPOCHREALTIME
  log "$name: $N publishers for ${DURATION}s"
  publish_all "$prefix" "$keys" "$out"
  for p in "${PUB_PIDS[@]}"; do wait "$p" || true; done
  sleep 1 # let the server finish what the last bytes caused
  t1=$EPOCHREALTIME
  sampler_stop
  ok=$(cat "$out"/*.rc 2>/dev/null | grep -c '^0$' || true)
  kill -0 "$root" 2>/dev/null || log "$name: server process died during the run"
  read -r cpu rss procs < <(sampler_report "$samples" "$t0" "$t1")
  local steady _
  read -r steady _ < <(sampler_report "$samples" "$(awk -v t="$t0" -v s="$SETTLE" 'BEGIN { printf "%.6f", t + s }')" "$t1")
  local hwm; hwm=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$root/status" 2>/dev/null || echo "?")
  SIDE_RESULT="$cpu $rss $procs $ok $hwm $steady"
  log "$name: cpu=${cpu}s (steady after ${SETTLE}s: ${steady}s) peak_rss=${rss}MB (main VmHWM ${hwm}MB, ${procs} procs) publishers ok=$ok/$N"
  if ((ok < N)); then
    for f in "$out"/*.rc; do [[ $(cat "$f") == 0 ]] || { log "  publisher ${f##*/} rc=$(cat "$f"): $(tail -2 "${f%.rc}.log" | tr '\n' ' ')"; break; }; done
  fi
}

NGINX_RESULT="" NGINX_HLS_RESULT="" OURS_RESULT=""
# The target's peer only relays (hls off). We also package every stream, so a second peer row runs nginx-rtmp with
# its HLS writer on (MPEG-TS segments and a playlist per stream on disk): the like-for-like cost. NGINX_HLS=0 skips it.
NGINX_HLS=${NGINX_HLS:-1}

if [[ $ONLY == both || $ONLY == nginx ]]; then
  NGX_DIR="$BENCH_TMP/nginx"; NGX_PORT=$(free_port)
  nginx_rtmp_start "$NGX_DIR" "$NGX_PORT"
  for ((i = 1; i <= N; i++)); do echo "bench$i"; done >"$BENCH_TMP/nginx.keys"
  run_side nginx "$NGINX_PID" "rtmp://127.0.0.1:$NGX_PORT/live" "$BENCH_TMP/nginx.keys" warmup
  NGINX_RESULT=$SIDE_RESULT
  stop_tree "$NGINX_PID"

  if [[ $NGINX_HLS == 1 ]]; then
    NGX_DIR="$BENCH_TMP/nginx-hls"; NGX_PORT=$(free_port); mkdir -p "$NGX_DIR/hls"
    nginx_rtmp_start "$NGX_DIR" "$NGX_PORT" "hls on; hls_path $NGX_DIR/hls; hls_fragment 2s; hls_playlist_length 12s;"
    run_side nginx-hls "$NGINX_PID" "rtmp://127.0.0.1:$NGX_PORT/live" "$BENCH_TMP/nginx.keys" warmup
    NGINX_HLS_RESULT="$SIDE_RESULT $(find "$NGX_DIR/hls" -name '*.m3u8' | wc -l)"
    stop_tree "$NGINX_PID"
  fi
fi

if [[ $ONLY == both || $ONLY == ours ]]; then
  server_build
  SRV_DIR="$BENCH_TMP/ours"
  server_start "$SRV_DIR"
  : >"$BENCH_TMP/ours.keys"
  for ((i = 1; i <= N; i++)); do
    read -r key slug < <(create_channel "bench$i-$RANDOM")
    echo "$key" >>"$BENCH_TMP/ours.keys"
    echo "$slug" >>"$BENCH_TMP/ours.slugs"
  done
  read -r warm_key _ < <(create_channel "warmup-$RANDOM")
  run_side ours "$SERVER_PID" "rtmp://127.0.0.1:$RTMP_PORT/live" "$BENCH_TMP/ours.keys" "$warm_key"
  OURS_RESULT=$SIDE_RESULT
  # A publisher that exits 0 proves only that the server took the bytes: count channels that produced a playlist.
  served=0
  while read -r slug; do
    curl -fsS -o /dev/null "$HTTP_BASE/live/$slug/source/index.m3u8" 2>/dev/null && served=$((served + 1))
  done <"$BENCH_TMP/ours.slugs"
  log "ours: $served/$N channels serve /live/{slug}/source/index.m3u8 after the run"
  OURS_RESULT="$OURS_RESULT $served"
fi

# ---------------------------------------------------------------- report
read -r ncpu nrss nprocs nok nhwm nsteady <<<"${NGINX_RESULT:-- - - - - -}"
read -r ocpu orss oprocs ook ohwm osteady oserved <<<"${OURS_RESULT:-- - - - - - -}"
rss_ratio=$(ratio "$orss" "$nrss")
verdict() { awk -v r="$1" 'BEGIN { if (r == "n/a") print "n/a"; else print (r <= 1.0 ? "met" : "NOT met") }'; }
verdict_rss=$(awk -v m="${orss/-/}" 'BEGIN { if (m == "") print "n/a"; else print (m + 0 <= 300 ? "met" : "NOT met") }')
steady_s=$((DURATION + 1 - SETTLE))
relay_whole=$(ratio "$ocpu" "$ncpu") relay_steady=$(ratio "$osteady" "$nsteady")

table="| server | publishers ok | CPU-seconds (whole run) | CPU-seconds (steady, last ${steady_s}s) | peak RSS MB (tree) | main VmHWM MB | processes |
|---|---|---|---|---|---|---|
| nginx-rtmp (1 worker) | ${nok}/$N | $ncpu | $nsteady | $nrss | $nhwm | $nprocs |
| Broadcast | ${ook}/$N (playlists: ${oserved}) | $ocpu | $osteady | $orss | $ohwm | $oprocs |
| **ours / nginx** | | **$relay_whole** | **$relay_steady** | **$rss_ratio** | | |"
# The target's peer is nginx-rtmp with its HLS writer on when that side ran (the like-for-like cost), else the relay.
peer="nginx-rtmp" whole_ratio=$relay_whole steady_ratio=$relay_steady
if [[ -n $NGINX_HLS_RESULT ]]; then
  read -r hcpu hrss hprocs hok hhwm hsteady hserved <<<"$NGINX_HLS_RESULT"
  whole_ratio=$(ratio "$ocpu" "$hcpu") steady_ratio=$(ratio "$osteady" "$hsteady") peer="nginx-rtmp with HLS"
  table+="
| nginx-rtmp, hls on (1 worker) | ${hok}/$N (playlists: ${hserved}) | $hcpu | $hsteady | $hrss | $hhwm | $hprocs |
| **ours / nginx hls on** | | **$whole_ratio** | **$steady_ratio** | **$(ratio "$orss" "$hrss")** | | |"
fi
table+="

$N publishers x ${DURATION}s (after a ${WARMUP}s one-publisher warm-up, unmeasured) of 1280x720 30 fps H.264 2.5 Mb/s + AAC 128k, \`ffmpeg -re -c copy\`.
The steady figure leaves out the first ${SETTLE}s after the publishers start (the runtime compiling what N new broadcasts run, their setup).
Targets: CPU <= 1.0x $peer: whole run **$(verdict "$whole_ratio")**, steady **$(verdict "$steady_ratio")**; RSS <= 300 MB: **$verdict_rss**."
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "ingest: $N RTMP publishers" "$table"

# Shared helpers for the bench/ scripts. Sourced, not run. Bash + coreutils + awk + curl + /proc only:
# no python, so the benchmarks run on a fresh Debian with nothing but scripts/deps.sh.
#
# Every helper that starts a process records its pid in BENCH_PIDS; bench_cleanup (installed as an
# EXIT/INT/TERM trap by bench_init) stops exactly those pids and their children, nothing by name.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_CACHE="$BENCH_DIR/.cache"
BENCH_PIDS=()
BENCH_TMP=""
CLK_TCK=$(getconf CLK_TCK)
PAGE_KB=$(( $(getconf PAGESIZE) / 1024 ))

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

bench_init() {
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
  # nginx workers drop to "nobody" when the master runs as root: they must be able to read the tree.
  chmod 755 "$BENCH_TMP"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  # A reader of our output that goes away (| head) must not kill us by SIGPIPE before the cleanup ran. A handler,
  # not "ignore": ignored signals are inherited by the programs we start, handlers are not.
  trap 'exit 141' PIPE
  mkdir -p "$BENCH_CACHE"
}

# Descendants of a pid (children first found through /proc/*/stat's ppid field).
descendants() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
    { i = index($0, ") "); n = split(substr($0, i + 2), f, " "); pid = $1 + 0; ppid[pid] = f[2] + 0 }
    END {
      want[root] = 1; changed = 1
      while (changed) { changed = 0; for (p in ppid) if (!(p in want) && (ppid[p] in want)) { want[p] = 1; changed = 1 } }
      for (p in want) if (p != root) print p
    }'
}

# Stops a pid and all its descendants: TERM, up to 10 s grace, then KILL.
stop_tree() {
  local root=$1 pids p i
  pids="$root $(descendants "$root" | tr '\n' ' ')"
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 100; i++)); do
    local alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$root" 2>/dev/null || true
}

bench_cleanup() {
  local rc=$? p
  trap - EXIT INT TERM HUP
  trap '' PIPE # stderr may be the broken pipe that brought us here
  for p in "${BENCH_PIDS[@]}"; do stop_tree "$p"; done
  if [[ -n "$BENCH_TMP" && -d "$BENCH_TMP" ]]; then
    if [[ "${KEEP_TMP:-0}" == 1 || $rc -ne 0 ]]; then log "work files kept in $BENCH_TMP"; else rm -rf "$BENCH_TMP"; fi
  fi
  exit "$rc"
}

# Is a TCP port in use (checked in /proc/net/tcp{,6})? free_port asks scripts/free-port.sh, which checks the same way.
# One awk decides (no "| grep -q": with pipefail, a writer cut off by grep's early exit fails the pipeline).
port_in_use() { # port [state]: any socket with that local port (in that state, e.g. 0A = LISTEN)
  local hex; hex=$(printf '%04X' "$1")
  awk -v p="$hex" -v st="${2:-}" '{ split($2, a, ":"); if (a[2] == p && (st == "" || $4 == st)) f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

free_port() { "$REPO_DIR/scripts/free-port.sh" || die "no free port found"; }

# Waits (bounded) until a command succeeds.
wait_until() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

port_listening() { port_in_use "$1" 0A; }

# ---------------------------------------------------------------- resource sampling
# sampler_start ROOT_PID OUT_FILE: every SAMPLE_INTERVAL s, writes "epoch pid ticks rss_kb" for ROOT and all its
# descendants (utime+stime from /proc/PID/stat fields 14+15, rss field 24). Summing per pid afterwards keeps the
# CPU of children that exit mid-run (a transcoder restart) instead of losing it.
sampler_start() {
  local root=$1 out=$2
  (
    set +e +o pipefail # a process vanishing between listing and reading is normal here
    while kill -0 "$root" 2>/dev/null; do
      local now=$EPOCHREALTIME
      { echo "$root"; descendants "$root"; } | while read -r p; do
        [[ -r /proc/$p/stat ]] && cat "/proc/$p/stat" 2>/dev/null
      done | awk -v t="$now" -v pk="$PAGE_KB" '
        { i = index($0, ") "); split(substr($0, i + 2), f, " "); print t, $1, f[12] + f[13], f[22] * pk }'
      sleep "${SAMPLE_INTERVAL:-0.5}"
    done
  ) >>"$out" 2>/dev/null &
  SAMPLER_PID=$!
}

sampler_stop() { kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; }

# sampler_report FILE T0 T1 -> "cpu_seconds peak_rss_mb max_procs" over samples with T0 <= t <= T1.
# CPU: per pid, last ticks in window minus the ticks at its first sample in the window (a pid born inside the
# window counts from 0). RSS: the largest sum of VmRSS over the tree at one sample.
sampler_report() {
  awk -v t0="$2" -v t1="$3" -v hz="$CLK_TCK" '
    $1 < t0 || $1 > t1 { next }
    {
      if (tfirst == "") tfirst = $1
      if (!($2 in first)) first[$2] = ($1 == tfirst) ? $3 : 0
      last[$2] = $3; rss[$1] += $4; n[$1]++
    }
    END {
      for (p in last) cpu += last[p] - first[p]
      for (t in rss) { if (rss[t] > peak) peak = rss[t]; if (n[t] > procs) procs = n[t] }
      printf "%.2f %.1f %d\n", cpu / hz, peak / 1024, procs
    }' "$1"
}

# ---------------------------------------------------------------- media
# The ingest clip: 30 s 1280x720 30 fps H.264 at ~2.5 Mb/s (CBR-ish), 2 s GOP, AAC 128k stereo. Made once.
ensure_clip() {
  CLIP="$BENCH_CACHE/clip-720p30-2500k-30s.flv"
  if [[ ! -s "$CLIP" ]]; then
    log "generating $CLIP (once; cached under bench/.cache)"
    ffmpeg -nostdin -hide_banner -loglevel error -y \
      -f lavfi -i "testsrc2=size=1280x720:rate=30" \
      -f lavfi -i "sine=frequency=1000:sample_rate=48000" \
      -t 30 -map 0:v -map 1:a \
      -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p \
      -b:v 2500k -maxrate 2500k -bufsize 5000k -g 60 -keyint_min 60 -sc_threshold 0 \
      -c:a aac -b:a 128k -ac 2 \
      -f flv "$CLIP.tmp"
    mv "$CLIP.tmp" "$CLIP"
  fi
}

# testsrc_clip SECONDS GOP_FRAMES: sets LCLIP to a cached 640x360 30 fps testsrc2 + 1 kHz sine clip (H.264 zerolatency
# 800 kb/s with a keyframe every GOP_FRAMES frames, AAC), generated once under bench/.cache. Publishing it with
# ffmpeg -re -c copy puts no encoder start-up inside the stream (latency.sh, lowlatency.sh).
testsrc_clip() {
  local seconds=$1 gop=$2
  LCLIP="$BENCH_CACHE/clip-360p30-gop$((gop / 30))s-${seconds}s.flv"
  [[ -s "$LCLIP" ]] && return
  log "generating $LCLIP (once)"
  ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=30" \
    -f lavfi -i "sine=frequency=1000:sample_rate=48000" -t "$seconds" -map 0:v -map 1:a \
    -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -b:v 800k -maxrate 800k -bufsize 1600k \
    -g "$gop" -keyint_min "$gop" -sc_threshold 0 -c:a aac -b:a 96k -f flv "$LCLIP.tmp"
  mv "$LCLIP.tmp" "$LCLIP"
}

# realtime_clip: sets CLIP to the real-time clip of the WHEP benches, generated once: 60 s 1280x720 30 fps H.264
# without B-frames (so WebRTC gets it passed through), 1 s GOP, 2.5 Mb/s, and a 1 kHz AAC tone.
realtime_clip() {
  CLIP="$BENCH_CACHE/clip-720p30-gop1s-2500k-60s.flv"
  [[ -s "$CLIP" ]] && return
  log "generating $CLIP (once)"
  ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=1000:sample_rate=48000" \
    -t 60 -map 0:v -map 1:a -c:v libx264 -preset veryfast -tune zerolatency -bf 0 -pix_fmt yuv420p -b:v 2500k -maxrate 2500k -bufsize 2500k \
    -g 30 -keyint_min 30 -sc_threshold 0 -c:a aac -b:a 96k -f flv "$CLIP.tmp"
  mv "$CLIP.tmp" "$CLIP"
}

# ---------------------------------------------------------------- nginx (peer)
NGINX_MIME='types { application/vnd.apple.mpegurl m3u8; video/mp4 mp4 m4s; audio/mp4 m4a; video/mp2t ts; text/html html; }'

# nginx_start DIR CONF_BODY: writes DIR/nginx.conf (CONF_BODY after the common header), starts nginx in the
# foreground as a child of this shell; sets NGINX_PID (the master).
nginx_start() {
  local dir=$1 body=$2
  mkdir -p "$dir/logs"
  chmod 755 "$dir"
  cat >"$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
$body
EOF
  nginx -t -q -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" || die "nginx config rejected ($dir/nginx.conf)"
  nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
}

# nginx_rtmp_start DIR PORT [APP_DIRECTIVES] [EXTRA_BLOCKS]: nginx-rtmp (one worker, chunk size 4096, record off) on
# 127.0.0.1:PORT with application "live" plus APP_DIRECTIVES (e.g. its HLS writer) and EXTRA_BLOCKS after the rtmp
# block (e.g. an http server); waits until it listens. Sets NGINX_PID like nginx_start.
nginx_rtmp_start() {
  local dir=$1 port=$2 app=${3:-} extra=${4:-}
  nginx_start "$dir" "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:$port; chunk_size 4096; application live { live on; record off; $app } } }
$extra"
  wait_until 20 port_listening "$port" || die "nginx-rtmp did not listen on $port ($dir)"
}

# ---------------------------------------------------------------- our server
# SERVER_DLL (with BUILD=0) runs another build, to compare two commits on the same machine state.
SERVER_DLL=${SERVER_DLL:-"$REPO_DIR/server/bin/Release/net10.0/Broadcast.Server.dll"}

server_build() {
  if [[ "${BUILD:-1}" == 1 || ! -f "$SERVER_DLL" ]]; then
    log "building server (Release); BUILD=0 skips when the dll exists"
    (cd "$REPO_DIR" && dotnet build server/Broadcast.Server.csproj -c Release -nologo -v quiet -clp:ErrorsOnly) >&2 \
      || die "server build failed"
  fi
}

# tool_build PROJECT DLL WHAT: builds one of bench/'s own .NET tools (bench/hostile, bench/multitrack…) in Release, unless
# BUILD=0 and its DLL is there already.
tool_build() {
  if [[ "${BUILD:-1}" == 1 || ! -f "$2" ]]; then
    log "building the $3 (Release)"
    (cd "$REPO_DIR" && dotnet build "$1" -c Release -nologo -v quiet -clp:ErrorsOnly) >&2 || die "$3 build failed"
  fi
}

# server_start DIR [no-rtmp]: starts Broadcast.Server with its state under DIR on free ports (no-rtmp: a node without
# the ingest role, whose RTMP port nobody listens on).
# Sets SERVER_PID, RTMP_PORT, HTTP_PORT, HTTP_BASE, ADMIN_TOKEN. Extra server switches: SERVER_ARGS (env).
# SERVER_ARGS defaults to --Transcode:Enabled=false: the ingest, origin and latency peers (nginx) do not transcode,
# so neither does ours there; bench/transcode.sh measures the ladder. SERVER_ARGS= (empty) keeps the ladder on.
server_start() {
  local dir=$1 rtmp=${2:-rtmp}
  mkdir -p "$dir/media"
  RTMP_PORT=$(free_port); HTTP_PORT=$(free_port)
  HTTP_BASE="http://127.0.0.1:$HTTP_PORT"
  ADMIN_TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")"
  # shellcheck disable=SC2086
  (cd "$dir" && exec dotnet "$SERVER_DLL" --Rtmp:Port="$RTMP_PORT" --Http:Urls="$HTTP_BASE" \
      --Storage:Path="$dir/media" --Database:ConnectionString="Data Source=$dir/broadcast.db" \
      --Admin:Token="$ADMIN_TOKEN" ${SERVER_ARGS---Transcode:Enabled=false}) >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  BENCH_PIDS+=("$SERVER_PID")
  wait_until 90 curl -fsS "$HTTP_BASE/healthz" || { tail -20 "$dir/server.log" >&2; die "server did not answer /healthz"; }
  [[ $rtmp == no-rtmp ]] && return 0 # an origin-only node takes no publishers
  wait_until 30 port_listening "$RTMP_PORT" || { tail -20 "$dir/server.log" >&2; die "server does not listen for RTMP on $RTMP_PORT"; }
}

# publish_clip KEY SLUG SECONDS: ffmpeg streams $CLIP (looped, as is) to our server's channel for at most SECONDS, its
# log in $BENCH_TMP/publisher.log; returns once the channel's source playlist lists 3 segments. Sets PLAYLIST_URL.
publish_clip() {
  PLAYLIST_URL="$HTTP_BASE/live/$2/source/index.m3u8"
  log "publishing to our server (channel $2)"
  timeout --kill-after=5 "$3" ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$CLIP" \
    -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$1" >"$BENCH_TMP/publisher.log" 2>&1 &
  BENCH_PIDS+=($!)
  has_segments() { [[ $(curl -fsS "$PLAYLIST_URL" | grep -c '^#EXTINF') -ge 3 ]]; }
  wait_until 90 has_segments || { tail -20 "$SRV_DIR/server.log" >&2; die "no 3 segments in $PLAYLIST_URL after 90 s"; }
}

# create_channel NAME -> prints "streamKey slug"
create_channel() { # NAME [LOW_LATENCY=true|false] [REAL_TIME=true|false] [PROTECTION=none|cenc|cbcs] [KEY_ROTATION_SEGMENTS]
  local body key slug
  body=$(curl -fsS -X POST "$HTTP_BASE/api/channels" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"lowLatency\":${2:-false},\"realTime\":${3:-false}${4:+,\"protection\":\"$4\"}${5:+,\"keyRotationSegments\":$5}}") \
    || die "POST /api/channels failed for $1"
  key=$(json_field streamKey <<<"$body"); slug=$(json_field slug <<<"$body")
  [[ -n "$key" && -n "$slug" ]] || die "channel response lacks streamKey/slug: $body"
  echo "$key $slug"
}

# json_field NAME: the string value of a top-level "NAME":"value" pair (enough for our flat API answers).
json_field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" | head -1; }

# ---------------------------------------------------------------- wrk
# wrk_settings: ROUNDS (1), WRK_SECONDS (10), CONNECTIONS (64), THREADS (2) from the environment, checked.
wrk_settings() {
  ROUNDS=${ROUNDS:-1}
  WRK_SECONDS=${WRK_SECONDS:-10}
  CONNECTIONS=${CONNECTIONS:-64}
  THREADS=${THREADS:-2}
  ((ROUNDS >= 1 && ROUNDS <= 10)) || die "ROUNDS must be 1..10"
  ((WRK_SECONDS >= 1 && WRK_SECONDS <= 120)) || die "WRK_SECONDS must be 1..120"
}

# run_wrk LABEL URL -> prints "req_per_s avg_latency non2xx socket_errors" (wrk -t$THREADS -c$CONNECTIONS -d$WRK_SECONDS).
run_wrk() { # LABEL URL [LUA_SCRIPT] -> "req_per_s avg_latency non2xx socket_errors"
  local out="$BENCH_TMP/wrk-$1.txt"
  local script=(); [[ -n "${3:-}" ]] && script=(-s "$3")
  timeout --kill-after=5 $((WRK_SECONDS + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WRK_SECONDS}s" --latency "${script[@]}" "$2" >"$out" 2>&1 \
    || die "wrk failed for $2: $(tail -3 "$out")"
  awk '
    /Requests\/sec:/ { rps = $2 }
    /^ +Latency / && !lat { lat = $2 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(",", ""); errs = $4 + $6 + $8 + $10 }
    END { printf "%s %s %d %d\n", rps, lat, bad, errs }' "$out"
}

# cmcd_lua FILE: a wrk script whose every request carries the CMCD query argument hls.js writes (percent-encoded),
# each wrk thread's connections cycling through 5,000 session ids of its own.
cmcd_lua() {
  cat >"$1" <<'LUA'
local counter = 0
local thread_id = 0
setup = function(thread) thread_id = thread_id + 1; thread:set("tid", thread_id) end
request = function()
  counter = counter + 1
  local sid = string.format("bench-%d-%d", tid or 0, counter % 5000)
  return wrk.format(nil, wrk.path .. "?CMCD=bl%3D21300%2Cbr%3D3200%2Cmtp%3D48100%2Cot%3Dv%2Csf%3Dh%2Csid%3D%22" .. sid .. "%22%2Cst%3Dl")
end
LUA
}

# ---------------------------------------------------------------- results
# results_append TITLE BODY: appends a dated section with the exact command to bench/RESULTS.md.
results_append() {
  local file="$BENCH_DIR/RESULTS.md"
  [[ -f "$file" ]] || die "$file is missing"
  {
    echo
    echo "## $1 — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "Command: \`$BENCH_COMMAND\` (commit $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    echo "$2"
  } >>"$file"
  log "appended to $file"
}

# DOTNET_* variables in the environment change how our server runs (GC mode, tiered compilation): the recorded
# command must show them. The SDK's own switches (CLI, telemetry, first-run) do not touch the runtime: left out.
dotnet_env() {
  env | grep '^DOTNET_' | grep -Ev '^DOTNET_(CLI_|NOLOGO|GENERATE_ASPNET_CERTIFICATE|SKIP_FIRST_TIME|ADD_GLOBAL_TOOLS|ROOT|INSTALL_DIR|MULTILEVEL_LOOKUP|HOST_PATH|TELEMETRY)' \
    | sort | awk '{ printf "%s ", $0 }' || true
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

# ---------------------------------------------------------------- the CDN edge
# edge_start ORIGIN_PORT [CONFIG] [NAME] [AUDIENCE_LOG_PORT]: CONFIG (default infra/nginx-edge.conf) with the lines marked
# "# test: ..." rewritten for loopback, as tests/Broadcast.EndToEnd.Tests/Storage/EdgeNginx.cs does, its files under
# $BENCH_TMP/NAME (default "edge"). With AUDIENCE_LOG_PORT, the audience log goes to 127.0.0.1 at that UDP port (a node's
# Origin:EdgeLogPort) and forwarded requests carry the header that says so; without, neither line is kept (as the test's
# edge without an audience log). Sets EDGE_PORT, EDGE_PID and EDGE_DIR (its access log: $EDGE_DIR/access.log).
edge_start() {
  local origin=$1 config=${2:-"$REPO_DIR/infra/nginx-edge.conf"} dir="$BENCH_TMP/${3:-edge}" audience=${4:-}
  mkdir -p "$dir/logs" "$dir/cache" "$dir/auth-cache" "$dir/client_body" "$dir/proxy" "$dir/fastcgi" "$dir/uwsgi" "$dir/scgi"
  chmod -R 777 "$dir"
  EDGE_PORT=$(free_port)
  EDGE_DIR=$dir
  # The same rules as EdgeNginx.Adapt: a marker ends a directive line (comment lines stay), temp paths in the folder.
  awk -v dir="$dir" -v port="$EDGE_PORT" -v origin="$origin" -v audience="$audience" '
    function indent(s) { match(s, /^ */); return substr(s, 1, RLENGTH) }
    /^[ ]*#/ || !/# test: / { print; if ($0 ~ /^[ ]*http {/) {
        print "    client_body_temp_path " dir "/client_body;"; print "    proxy_temp_path " dir "/proxy;"
        print "    fastcgi_temp_path " dir "/fastcgi;"; print "    uwsgi_temp_path " dir "/uwsgi;"; print "    scgi_temp_path " dir "/scgi;" }
      next }
    { what = substr($0, index($0, "# test: ") + 8); sub(/ .*/, "", what); i = indent($0) }
    what == "user" { print ""; next }
    what == "pid" { print "pid " dir "/nginx.pid;"; next }
    what == "error_log" { print "error_log " dir "/error.log warn;"; next }
    what == "access_log" { print i "access_log " dir "/access.log edge;"; next }
    what == "resolver" { print ""; next }
    what == "upstream" { print i "server 127.0.0.1:" origin " max_fails=2 fail_timeout=5s;"; next }
    what == "cache" { print i "proxy_cache_path " dir "/cache levels=1:2 keys_zone=broadcast:64m"; next }
    what == "auth-cache" { print i "proxy_cache_path " dir "/auth-cache levels=1:2 keys_zone=playback_auth:8m"; next }
    what == "listen" { print i "listen 127.0.0.1:" port ";"; next }
    what == "audience-log" || what == "audience-header" {
      if (audience == "") { print ""; next }
      line = substr($0, 1, index($0, "# test: ") - 1); sub(/[ ]+$/, "", line)
      if (what == "audience-log") sub(/10\.213\.71\.10:5140/, "127.0.0.1:" audience, line)
      print line; next }
    { print "unknown test marker " what > "/dev/stderr"; exit 1 }' "$config" >"$dir/nginx.conf" \
    || die "$config has a '# test:' marker this bench does not know"
  nginx -t -q -p "$dir/" -e "$dir/logs/error.log" -c "$dir/nginx.conf" || die "edge config rejected ($dir/nginx.conf)"
  nginx -p "$dir/" -e "$dir/logs/error.log" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/logs/stdout.log" 2>&1 &
  EDGE_PID=$!
  BENCH_PIDS+=("$EDGE_PID")
  wait_until 20 port_listening "$EDGE_PORT" || die "the edge did not listen on $EDGE_PORT"
}

#!/usr/bin/env bash
# WebRTC viewers per node: VIEWERS real WebRTC peers (GStreamer webrtcbin, bench/whepload.py) play one real-time
# channel over WHEP from our server for SECONDS_ (a steady window, after they all connected). The publisher loops a
# 720p30 H.264 clip (x264, no B-frames, 2.5 Mb/s, 1 s GOP, AAC) with -c copy, so the video is passed through to WebRTC.
# Reports: viewers answered and receiving, their frame rates (median, 10th percentile, lowest) against the source's 30,
# a sampled viewer's seconds under 80 % of it, and CPU over the steady window: Janus alone, and our server with its RTP
# ffmpeg (the fan-out copies every packet once per viewer), as % of one core, in all and per viewer. Janus idle (the
# channel warm, no viewer) is measured first for 10 s, as its zero.
# The viewers run on the same 2 cores as the server and Janus: their own CPU is reported too.
# Peer (PEER=1, the default): Janus alone. A second Janus (the same Debian janus 1.1.2, its Streaming plugin) gets the
# same clip as RTP from a plain ffmpeg (video copied, Opus encoded) on one mountpoint, and as many webrtcbin viewers
# watch it: Janus's native one-to-many fan-out, where each packet enters Janus once, against ours, where the NoSIP
# plugin takes one RTP leg per viewer. Reported side by side, with the ratio of Janus CPU per viewer.
# Targets (issue "Real-time viewing"): at least 50 viewers of a 720p passthrough stream, no sustained frame loss in a
# sampled viewer; report Janus CPU per viewer.
#
# Usage: bench/whepload.sh                    VIEWERS=50 SECONDS_=60
#        VIEWERS=10 SECONDS_=20 bench/whepload.sh   a short look; BUILD=0 skips the dotnet build; NO_RESULTS=1 does not append.
#        PEER=0 bench/whepload.sh                    ours only
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"

VIEWERS=${VIEWERS:-50}
WINDOW=${SECONDS_:-60}
PEER=${PEER:-1}
((VIEWERS >= 1 && VIEWERS <= 200)) || die "VIEWERS must be 1..200"
((WINDOW >= 10 && WINDOW <= 600)) || die "SECONDS_ must be 10..600"
[[ $PEER == 0 || $PEER == 1 ]] || die "PEER must be 0 or 1"
BENCH_COMMAND="$(dotnet_env)VIEWERS=$VIEWERS SECONDS_=$WINDOW$( ((PEER == 0)) && echo " PEER=0" || true) bench/whepload.sh"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl janus python3-gi gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice gstreamer1.0-plugins-bad gstreamer1.0-plugins-good
bench_init
server_build

realtime_clip

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu_rate() { # TICKS0 TICKS1 T0 T1: % of one core
  awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", 100 * (b - a) / hz / (t1 - t0) }'
}
per() { awk -v a="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", a / n; else print "-" }'; }

# run_viewers NAME JANUS_PID SERVER_PID|- URL [whepload.py switches]: the load, with Janus's CPU (and the server's)
# over the steady window. Sets the R_* results.
run_viewers() {
  local name=$1 janus_pid=$2 server_pid=$3 url=$4; shift 4
  local out="$BENCH_TMP/$name" i0 i1 t0 t1 load status j0 j1 tj1 w0 w1 server_cpu
  mkdir -p "$out"
  log "$name: Janus idle, 10 s"
  i0=$(cpu_ticks "$janus_pid"); t0=$EPOCHREALTIME
  sleep 10
  i1=$(cpu_ticks "$janus_pid"); t1=$EPOCHREALTIME
  R_IDLE=$(cpu_rate "$i0" "$i1" "$t0" "$t1")
  log "$name: $VIEWERS viewers (webrtcbin), ${WINDOW} s steady"
  [[ "$server_pid" == - ]] || sampler_start "$server_pid" "$out/samples.server"
  /usr/bin/time -o "$out/load.time" -f "%U %S %e" timeout --kill-after=10 $((WINDOW + VIEWERS + 120)) \
    /usr/bin/python3 "$REPO_DIR/bench/whepload.py" --url "$url" --viewers "$VIEWERS" --seconds "$WINDOW" \
    --window-file "$out/window" "$@" >"$out/load.out" 2>"$out/load.err" &
  load=$!
  # Janus's own CPU over the steady window: whepload.py writes the window's wall-clock start, then start and end.
  wait_until $((VIEWERS + 60)) test -s "$out/window" || die "$name: the viewers never reached their steady window: $(tail -5 "$out/load.err")"
  j0=$(cpu_ticks "$janus_pid")
  set +e
  wait "$load"
  status=$?
  set -e
  j1=$(cpu_ticks "$janus_pid"); tj1=$EPOCHREALTIME
  [[ "$server_pid" == - ]] || sampler_stop
  cat "$out/load.out" >&2
  [[ -s "$out/load.err" ]] && tail -5 "$out/load.err" >&2
  ((status == 0 || status == 3)) || die "$name: the load client failed (exit $status)"
  read -r w0 w1 <"$out/window"
  # j1 is read a little after the window's end (the client's teardown): the rate is taken over that same span.
  R_JANUS=$(cpu_rate "$j0" "$j1" "$w0" "$tj1")
  R_SERVER=-; R_SERVER_PER=-
  if [[ "$server_pid" != - ]]; then
    read -r server_cpu _ < <(sampler_report "$out/samples.server" "$w0" "$w1")
    R_SERVER=$(awk -v c="$server_cpu" -v t0="$w0" -v t1="$w1" -v j="$R_JANUS" 'BEGIN { printf "%.1f", 100 * c / (t1 - t0) - j }')
  fi
  field() { tr ' ' '\n' <"$out/load.out" | sed -n "s/^$1=//p" | tail -1; }
  R_ANSWERED=$(field answered); R_RECEIVING=$(field receiving)
  R_FPS="$(field fps_median) / $(field fps_p10) / $(field fps_min)"
  R_LOW=$(field viewer0_low_seconds); R_SECS=$(field viewer0_seconds); R_SERIES=$(field viewer0_frames_per_second)
  R_JANUS_PER=$(per "$(awk -v a="$R_JANUS" -v b="$R_IDLE" 'BEGIN { print a - b }')" "$R_RECEIVING")
  [[ "$R_SERVER" == - ]] || R_SERVER_PER=$(per "$R_SERVER" "$R_RECEIVING")
  R_CLIENT=$(awk 'NF >= 3 && $3 + 0 > 0 { printf "%.0f", 100 * ($1 + $2) / $3 }' "$out/load.time" 2>/dev/null || echo "?")
  R_VERDICT=$(awk -v r="$R_RECEIVING" -v n="$VIEWERS" -v low="$R_LOW" -v s="$R_SECS" 'BEGIN { print (r + 0 >= 50 && r == n && low + 0 <= s / 20) ? "met" : "NOT met" }')
}

# ---------------------------------------------------------------- ours
# A place for every viewer (the node's cap and the per-address cap: all viewers come from 127.0.0.1).
SERVER_ARGS="--Transcode:Enabled=false --Whep:MaxViewersPerNode=$((VIEWERS + 10)) --Whep:MaxSessionsPerAddress=$((VIEWERS + 10))" \
  server_start "$BENCH_TMP/ours"
read -r KEY SLUG < <(create_channel "whepload-$RANDOM" true true)
ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$CLIP" -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY" \
  >"$BENCH_TMP/publisher.log" 2>&1 &
PUBLISHER_PID=$!
BENCH_PIDS+=("$PUBLISHER_PID")
wait_until 60 curl -sf -o /dev/null "$HTTP_BASE/live/$SLUG/master.m3u8" || die "no master playlist (publisher: $(tail -3 "$BENCH_TMP/publisher.log"))"
# The channel is real-time: its publish started Janus and its RTP ffmpeg (WhepPrewarm).
wait_until 30 pgrep -P "$SERVER_PID" -x janus || die "Janus did not start for the real-time channel"
JANUS_PID=$(pgrep -P "$SERVER_PID" -x janus | head -1)

run_viewers ours "$JANUS_PID" "$SERVER_PID" "$HTTP_BASE/live/$SLUG/whep"
ours_row="| ours: WHEP, Janus NoSIP (a leg per viewer) | $VIEWERS / $R_ANSWERED / $R_RECEIVING | $R_FPS | $R_LOW of $R_SECS | $R_IDLE / $R_JANUS / $R_JANUS_PER | $R_SERVER / $R_SERVER_PER | $R_CLIENT | >= 50 viewers, no sustained loss: $R_VERDICT |"
ours_per=$R_JANUS_PER; ours_series=$R_SERIES

# ---------------------------------------------------------------- peer: Janus alone
peer_row=""; ratio="not run"; peer_series=""
if ((PEER == 1)); then
  # Ours goes quiet (its publisher stops) so the peer's run has the cores as ours had them.
  kill "$PUBLISHER_PID" 2>/dev/null || true
  PEER_DIR="$BENCH_TMP/janus-peer"
  mkdir -p "$PEER_DIR/plugins" "$PEER_DIR/transports" "$PEER_DIR/none"
  JANUS_LIB=$(dirname "$(dirname "$(dpkg -L janus | grep -m1 '/plugins/libjanus_streaming.so$')")")
  ln -sf "$JANUS_LIB/plugins/libjanus_streaming.so" "$PEER_DIR/plugins/"
  ln -sf "$JANUS_LIB/transports/libjanus_http.so" "$PEER_DIR/transports/"
  PEER_HTTP=$(free_port); PEER_VIDEO=$(free_port); PEER_AUDIO=$(free_port)
  printf '%s\n' "general: {" "  configs_folder = \"$PEER_DIR\"" "  plugins_folder = \"$PEER_DIR/plugins\"" \
    "  transports_folder = \"$PEER_DIR/transports\"" "  events_folder = \"$PEER_DIR/none\"" "  loggers_folder = \"$PEER_DIR/none\"" \
    "  debug_level = 4" "  session_timeout = 60" "}" "media: {" "  rtp_port_range = \"50000-55000\"" "}" \
    "nat: {" "  ice_lite = false" "  ice_ignore_list = \"vmnet,docker,veth\"" "}" >"$PEER_DIR/janus.jcfg"
  printf '%s\n' "general: {" "  json = \"plain\"" "  base_path = \"/janus\"" "  http = true" "  port = $PEER_HTTP" \
    "  ip = \"127.0.0.1\"" "  https = false" "}" "admin: {" "  admin_http = false" "}" >"$PEER_DIR/janus.transport.http.jcfg"
  printf '%s\n' "general: {" "  events = false" "}" "bench: {" "  type = \"rtp\"" "  id = 1" "  description = \"bench\"" \
    "  audio = true" "  audioport = $PEER_AUDIO" "  audiopt = 111" "  audiocodec = \"opus\"" \
    "  video = true" "  videoport = $PEER_VIDEO" "  videopt = 96" "  videocodec = \"h264\"" \
    "  videofmtp = \"profile-level-id=42e01f;packetization-mode=1\"" "}" >"$PEER_DIR/janus.plugin.streaming.jcfg"
  janus -C "$PEER_DIR/janus.jcfg" -F "$PEER_DIR" --disable-colors >"$PEER_DIR/janus.log" 2>&1 &
  PEER_PID=$!
  BENCH_PIDS+=("$PEER_PID")
  wait_until 30 curl -sf -o /dev/null "http://127.0.0.1:$PEER_HTTP/janus/info" || die "the peer Janus did not start: $(tail -5 "$PEER_DIR/janus.log")"
  # The same clip as RTP, the way our channel's RTP ffmpeg makes it (FLV in through a pipe, as from our hub; the video
  # copied, Opus encoded once, the same switches): a publisher-like ffmpeg into a plain one.
  (ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$CLIP" -c copy -f flv pipe:1 2>"$BENCH_TMP/peer-publisher.log" |
    ffmpeg -nostdin -hide_banner -loglevel error -flags low_delay -analyzeduration 200000 -f flv -i pipe:0 \
      -map 0:v:0 -c:v copy -bsf:v h264_mp4toannexb -f rtp -payload_type 96 "rtp://127.0.0.1:$PEER_VIDEO?pkt_size=1200" \
      -map 0:a:0 -c:a libopus -b:a 96000 -ar 48000 -ac 2 -application lowdelay -frame_duration 20 \
      -f rtp -payload_type 111 "rtp://127.0.0.1:$PEER_AUDIO?pkt_size=1200" >"$BENCH_TMP/peer-feed.log" 2>&1) &
  BENCH_PIDS+=("$!")
  run_viewers peer "$PEER_PID" - "http://127.0.0.1:$PEER_HTTP/janus" --janus-streaming 1
  peer_row="| peer: Janus alone, Streaming plugin (one RTP input) | $VIEWERS / $R_ANSWERED / $R_RECEIVING | $R_FPS | $R_LOW of $R_SECS | $R_IDLE / $R_JANUS / $R_JANUS_PER | - | $R_CLIENT | - |"
  peer_series=$R_SERIES
  ratio=$(awk -v a="$ours_per" -v b="$R_JANUS_PER" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
fi

table="| run | viewers asked / answered / receiving | frame rate per viewer: median / p10 / lowest (source 30) | sampled viewer: seconds under 24 fps | Janus CPU % of a core: idle / with viewers / per viewer | our server + RTP ffmpeg CPU %: in all / per viewer | viewers' own CPU % | target |
|---|---|---|---|---|---|---|---|
$ours_row${peer_row:+
$peer_row}

Janus CPU per viewer, ours / Janus alone: $ratio. One server (ladder off), one real-time channel; publisher:
\`ffmpeg -re -stream_loop -1 -c copy\` of a 1280x720 30 fps clip (x264 veryfast, no B-frames, 2.5 Mb/s, 1 s GOP, AAC),
passed through to WebRTC (Opus encoded once). The peer: a second Janus with only its Streaming plugin, one mountpoint
fed the same clip by a plain ffmpeg (video copied, Opus encoded). Viewers: bench/whepload.py, one GStreamer process of
$VIEWERS webrtcbin peers (no decode: RTP depayloaded and counted), started 0.1 s apart and measured over a ${WINDOW} s
window after all connected, on the same 2 cores. The sampled viewer's frames per second, ours: $ours_series${peer_series:+; Janus alone: $peer_series}."
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "WebRTC viewers per node: $VIEWERS WHEP peers, ${WINDOW} s" "$table"

#!/usr/bin/env bash
# The program compositor's latency, measured with burned-in clocks (issue #16: "added latency, input frame to program
# frame, <= 300 ms"; "layout change to first changed frame in the program <= 500 ms").
#
# A live encode (640x360 30 fps, x264 veryfast zerolatency, no B-frames, 1 s GOP, AAC) burns its capture clock into the
# picture (bench/whep.sh's strip: 20 black/white blocks, the time in ms modulo 2^20) and publishes it over RTMP.
# Every channel below is restreamed (passthrough) to an ffmpeg RTMP listener of bench/compose-latency.mjs, which decodes
# each frame on arrival and reads its clock: the same ingest, restream and decode path for every stream, so a stream
# minus the channel it composes is what the composing adds.
# 1. Ours: the publish into an input channel; a program on another channel composes it onto 1280x720p30 (the camera
#    filling the canvas, a white slate image on top in the corner) and encodes it (libx264 veryfast zerolatency,
#    3000 kb/s, AAC). Read: the input channel and the program, at once, for SECONDS_TO_PLAY; meanwhile the preview
#    sheet once a second (the input's picture as the compositor holds it: the input side of the latency). Then the
#    layout changes CHANGES times through the API (the slate off, on, ...), each timed from the PATCH to the first frame
#    read that shows it: an upper bound (it holds the program's encode, the restream and the reader's decode too).
#    Lip sync as well: the picture flashes a white box and the sound beeps (1 kHz) for the first 100 ms of every second;
#    each channel is also restreamed to a recorder, and ffmpeg's blackdetect and silencedetect find each flash and beep
#    in the recording: sound minus picture, per second, median. The program's own skew is its offset minus its input's.
# 2. The peer, after ours has stopped: a second publish of the same encode, through ffmpeg's tee muxer, into a second
#    input channel and into one plain ffmpeg listening for RTMP, which runs the same graph (scale to 1280x720, overlay
#    the same slate, a limiter on the audio, the same encoder settings) and pushes into a channel of its own. Read: that
#    input channel and the peer's channel, at once. The peer has no runtime layout change: that line is ours alone.
# One at a time, so neither's encoder takes the other's CPU. Ladder off (rungs change neither latency). Appends to
# bench/RESULTS.md.
#
#   bench/compose-latency.sh                   # 30 s of clocks each, 10 layout changes
#   SECONDS_TO_PLAY=60 CHANGES=20 bench/compose-latency.sh
#   BUILD=0 bench/compose-latency.sh           # use the server already built
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/lib.sh"
PLAY=${SECONDS_TO_PLAY:-30}
CHANGES=${CHANGES:-10}
((PLAY >= 10 && PLAY <= 600)) || die "SECONDS_TO_PLAY must be 10..600"
((CHANGES >= 0 && CHANGES <= 50)) || die "CHANGES must be 0..50"
BENCH_COMMAND="$(dotnet_env)SECONDS_TO_PLAY=$PLAY CHANGES=$CHANGES bench/compose-latency.sh"

"$REPO_DIR/scripts/deps.sh" ffmpeg curl
command -v node >/dev/null || die "node is needed (./test.sh installs it)"
bench_init
server_build

# The slate: a 280x160 white PNG at (960, 40) of the 1280x720 canvas (compose-latency.mjs reads its middle).
SLATE="$BENCH_TMP/slate.png"
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "color=c=white:size=280x160" -frames:v 1 -y "$SLATE"

# The restreams go to listeners on loopback: the outbound policy lets this one address through.
SERVER_ARGS="--Transcode:Enabled=false --Program:Width=1280 --Program:Height=720 --Outbound:AllowedHosts=127.0.0.1" \
  server_start "$BENCH_TMP/server"
RECORDERS=()
api() { curl -fsS -X "$1" "$HTTP_BASE$2" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
# channel NAME READER_PORT RECORDING: a channel restreamed to a reader's listener and to a recorder (an ffmpeg listener
# copying the first seconds into RECORDING, for the lip-sync reading). Sets CH_ID, CH_KEY, CH_SLUG (not a subshell: the
# recorder's pid must reach BENCH_PIDS).
channel() {
  local body id port
  body=$(api POST /api/channels "{\"name\":\"$1\"}") || die "POST /api/channels failed for $1"
  id=$(json_field id <<<"$body")
  api POST "/api/channels/$id/destinations" "{\"url\":\"rtmp://127.0.0.1:$2/live\",\"streamKey\":\"clock\"}" >/dev/null \
    || die "POST destinations failed for $1"
  port=$(free_port)
  ffmpeg -nostdin -hide_banner -loglevel error -listen 1 -i "rtmp://127.0.0.1:$port/live/record" -c copy -t $((PLAY + 5)) -f flv -y "$3" \
    >"$3.log" 2>&1 &
  BENCH_PIDS+=("$!")
  RECORDERS+=("$!")
  wait_until 30 port_listening "$port" || die "the recorder for $1 does not listen: $(tail -3 "$3.log")"
  api POST "/api/channels/$id/destinations" "{\"url\":\"rtmp://127.0.0.1:$port/live\",\"streamKey\":\"record\"}" >/dev/null \
    || die "POST destinations failed for $1"
  CH_ID=$id; CH_KEY=$(json_field streamKey <<<"$body"); CH_SLUG=$(json_field slug <<<"$body")
}
# av_offset RECORDING -> "median_ms pairs": each flash (the top-left eighth of the picture turning white) paired with the
# beep nearest it within half a second, sound minus picture (+: the sound is late), on the recording's own timestamps.
av_offset() {
  [[ -s "$1" ]] || { echo "- 0"; return; }
  ffmpeg -nostdin -hide_banner -copyts -i "$1" -filter_complex \
    "[0:v]crop=iw/8:ih/8:0:0,blackdetect=d=0.2:pix_th=0.5[v];[0:a]silencedetect=n=-30dB:d=0.3[a]" -map "[v]" -map "[a]" -f null - 2>&1 |
    awk '/black_end:/ { match($0, /black_end:[0-9.]+/); v[nv++] = substr($0, RSTART + 10, RLENGTH - 10) + 0 }
      /silence_end:/ { match($0, /silence_end: [0-9.]+/); a[na++] = substr($0, RSTART + 13, RLENGTH - 13) + 0 }
      END {
        for (i = 0; i < nv; i++) {
          found = 0
          for (j = 0; j < na; j++) {
            d = a[j] - v[i]; m = d < 0 ? -d : d
            if (m < 0.5 && (!found || m < bm)) { best = d; bm = m; found = 1 }
          }
          if (found) printf "%d\n", best * 1000 + (best < 0 ? -0.5 : 0.5)
        }
      }' | sort -n | awk '{ x[n++] = $1 } END { if (n == 0) print "- 0"; else print x[int(n / 2)], n }'
}
live() { curl -fsS -o /dev/null "$HTTP_BASE/live/$1/master.m3u8"; }
# publish OUT...: the clock encode, for as long as a phase can take, to the output(s) given (an flv URL or a tee).
publish() {
  local stamp="[1]setpts=RTCTIME/(TB*1000000),geq=lum='255*mod(floor(mod(T*1000\,1048576)/pow(2\,floor(X/32)))\,2)':cb=128:cr=128,setpts=PTS-STARTPTS[s];[0][s]vstack,format=yuv420p[v]"
  ffmpeg -nostdin -hide_banner -loglevel error -re \
    -f lavfi -i "color=c=0x404040:size=640x328:rate=30,drawbox=x=0:y=0:w=200:h=100:color=white:t=fill:enable='lt(mod(t\,1)\,0.1)'" \
    -f lavfi -i "color=c=black:size=640x32:rate=30" \
    -f lavfi -i "sine=frequency=1000:sample_rate=48000:samples_per_frame=480,volume='lt(mod(t\,1)\,0.1)':eval=frame" -filter_complex "$stamp" -map "[v]" -map 2:a -t $((PLAY + 3 * CHANGES + 150)) \
    -c:v libx264 -preset veryfast -tune zerolatency -bf 0 -g 30 -keyint_min 30 -sc_threshold 0 -b:v 1200k -maxrate 1200k -bufsize 600k \
    -c:a aac -b:a 96k -flags +global_header "$@" >>"$BENCH_TMP/publisher.log" 2>&1 &
  PUBLISHER_PID=$!
  BENCH_PIDS+=("$PUBLISHER_PID")
}
# readers REF_PORT SUBJECT_PORT OUT [program args]: compose-latency.mjs in the background, once its listeners are up.
readers() {
  local ref=$1 subject=$2 out=$3
  shift 3
  node "$REPO_DIR/bench/compose-latency.mjs" "$ref" "$subject" "$PLAY" "$@" >"$out" 2>"$out.err" &
  READERS_PID=$!
  BENCH_PIDS+=("$READERS_PID")
  wait_until 30 port_listening "$ref" && wait_until 30 port_listening "$subject" || die "the readers do not listen: $(tail -3 "$out.err")"
}

# ---- 1. ours
REF_A=$(free_port); SUBJECT_A=$(free_port)
channel "compose latency input" "$REF_A" "$BENCH_TMP/input.flv"; INPUT_KEY=$CH_KEY; INPUT_SLUG=$CH_SLUG
channel "compose latency program" "$SUBJECT_A" "$BENCH_TMP/program.flv"; PROGRAM_ID=$CH_ID; PROGRAM_SLUG=$CH_SLUG
readers "$REF_A" "$SUBJECT_A" "$BENCH_TMP/ours.out" "$CHANGES" "$HTTP_BASE" "$ADMIN_TOKEN" "$PROGRAM_ID"
publish -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$INPUT_KEY"
wait_until 60 live "$INPUT_SLUG" || die "the input channel did not go live (publisher: $(tail -3 "$BENCH_TMP/publisher.log"))"
api PUT "/api/channels/$PROGRAM_ID/program" "{\"inputs\":[{\"id\":\"cam\",\"channel\":\"$INPUT_SLUG\"},{\"id\":\"slate\",\"image\":{\"data\":\"$(base64 -w0 "$SLATE")\",\"width\":280,\"height\":160}}],
  \"layout\":{\"kind\":\"single\",\"inputs\":[{\"id\":\"cam\"}],\"overlays\":[{\"id\":\"slate\",\"rect\":{\"x\":960,\"y\":40,\"width\":280,\"height\":160}}]},\"transition\":\"cut\"}" >/dev/null \
  || die "PUT program failed: $(tail -5 "$BENCH_TMP/server/server.log")"
wait_until 40 live "$PROGRAM_SLUG" || die "the program did not go live: $(tail -5 "$BENCH_TMP/server/server.log")"
late0=$(api GET "/api/channels/$PROGRAM_ID/program" | sed -n 's/.*"framesLate":\([0-9]*\).*/\1/p')
log "ours: reading the input channel and the program for $PLAY s, then $CHANGES layout changes"
wait "$READERS_PID" || die "compose-latency.mjs failed (ours): $(tail -5 "$BENCH_TMP/ours.out.err")"
late1=$(api GET "/api/channels/$PROGRAM_ID/program" | sed -n 's/.*"framesLate":\([0-9]*\).*/\1/p')
api DELETE "/api/channels/$PROGRAM_ID/program" >/dev/null || true
stop_tree "$PUBLISHER_PID"

# ---- 2. the peer
REF_B=$(free_port); SUBJECT_B=$(free_port); PEER_PORT=$(free_port)
channel "compose latency input 2" "$REF_B" "$BENCH_TMP/input2.flv"; INPUT2_KEY=$CH_KEY
channel "compose latency plain ffmpeg" "$SUBJECT_B" "$BENCH_TMP/peer.flv"; PEER_KEY=$CH_KEY; PEER_SLUG=$CH_SLUG
readers "$REF_B" "$SUBJECT_B" "$BENCH_TMP/peer.out"
ffmpeg -nostdin -hide_banner -loglevel error -fflags nobuffer -listen 1 -i "rtmp://127.0.0.1:$PEER_PORT/live/in" -i "$SLATE" \
  -filter_complex "[0:v]fps=30,scale=1280:720:flags=bilinear[m];[m][1:v]overlay=960:40[v];[0:a]aresample=48000,alimiter=limit=0.891[a]" \
  -map "[v]" -map "[a]" -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0 -fps_mode cfr \
  -b:v 3000k -maxrate 3000k -bufsize 6000k -c:a aac -b:a 128k -ar 48000 -ac 2 -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$PEER_KEY" \
  >"$BENCH_TMP/peer.log" 2>&1 &
BENCH_PIDS+=("$!")
wait_until 30 port_listening "$PEER_PORT" || die "the plain ffmpeg does not listen on $PEER_PORT: $(tail -3 "$BENCH_TMP/peer.log")"
publish -f tee "[f=flv:onfail=ignore]rtmp://127.0.0.1:$RTMP_PORT/live/$INPUT2_KEY|[f=flv]rtmp://127.0.0.1:$PEER_PORT/live/in"
wait_until 60 live "$PEER_SLUG" || die "the plain ffmpeg's channel did not go live (peer: $(tail -3 "$BENCH_TMP/peer.log"))"
log "peer: reading the second input channel and plain ffmpeg's output for $PLAY s"
wait "$READERS_PID" || die "compose-latency.mjs failed (peer): $(tail -5 "$BENCH_TMP/peer.out.err")"

read -r i50 i95 imax in_n p50 p95 pmax pn c50 cmax cn amax age50 age95 <"$BENCH_TMP/ours.out"
read -r j50 j95 jmax jn e50 e95 emax en _ <"$BENCH_TMP/peer.out"
recording() { local p; for p in "${RECORDERS[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
wait_until 60 eval '! recording' || log "a recorder is still running: its file is read as it is"
read -r sync_in _ < <(av_offset "$BENCH_TMP/input.flv")
read -r sync_prog sync_prog_n < <(av_offset "$BENCH_TMP/program.flv")
read -r sync_in2 _ < <(av_offset "$BENCH_TMP/input2.flv")
read -r sync_peer _ < <(av_offset "$BENCH_TMP/peer.flv")
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else print a - b }'; }
ours50=$(minus "$p50" "$i50"); ours95=$(minus "$p95" "$i95")
peer50=$(minus "$e50" "$j50"); peer95=$(minus "$e95" "$j95")
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "-") print "n/a"; else print (v + 0 <= t ? "met" : "NOT met") }'; }
log "added by composing: ours p50 $ours50 p95 $ours95 ms, plain ffmpeg p50 $peer50 p95 $peer95 ms; layout change p50 $c50 max $cmax ms"
log "lip sync (sound minus picture): input $sync_in, program $sync_prog; input 2 $sync_in2, plain ffmpeg $sync_peer ms"

table="| stream, read on arrival (restreamed to a local ffmpeg) | clock age p50 / p95 / max ms | frames |
|---|---|---|
| ours: the input channel (the publish itself) | $i50 / $i95 / $imax | $in_n |
| ours: the input's picture in the compositor (preview sheet, once a second) | $age50 / $age95 / - | - |
| ours: the program | $p50 / $p95 / $pmax | $pn |
| peer: the second input channel | $j50 / $j95 / $jmax | $jn |
| peer: plain ffmpeg's output (same graph, pushed into a channel) | $e50 / $e95 / $emax | $en |

| | ours | plain ffmpeg | ratio (p50) | target |
|---|---|---|---|---|
| added by composing, p50 / p95 (program minus its input channel) | $ours50 / $ours95 ms | $peer50 / $peer95 ms | $(ratio "$ours50" "$peer50") | <= 300 ms: $(verdict "$ours95" 300) (p95) |
| layout change: PATCH to the first changed frame read, p50 / max over $cn | $c50 / $cmax ms | - (no runtime layout) | - | <= 500 ms: $(verdict "$cmax" 500) (max, an upper bound) |
| lip sync: sound minus picture, median over $sync_prog_n flashes (input channel / output; + = sound late) | $sync_in / $sync_prog ms | $sync_in2 / $sync_peer ms | - | skew added: ours $(minus "$sync_prog" "$sync_in") ms, plain ffmpeg $(minus "$sync_peer" "$sync_in2") ms |

One server (ladder off). Publisher: a live x264 encode (640x360 30 fps, veryfast, zerolatency, no B-frames, 1 s GOP, AAC)
with its capture clock burned in. Program and plain ffmpeg: the camera filling 1280x720p30 with a slate on top, x264
veryfast zerolatency 3000 kb/s, 2 s GOP, AAC 128k; measured one after the other, ${PLAY} s each. Every stream restreamed
(passthrough) to a local ffmpeg that decodes each frame on arrival and reads the clock. Program frames repeated for lateness
while measured: $(minus "${late1:--}" "${late0:--}"). The API answered each PATCH within $amax ms. The change time holds the
program's encode, the restream and the reader's decode besides the compositor's own wait."
echo
echo "$table"
[[ "${NO_RESULTS:-0}" == 1 ]] || results_append "Program latency: input to program and layout change, burned-in clocks, ${PLAY} s each" "$table"

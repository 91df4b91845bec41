#!/usr/bin/env bash
# The deployment recipe on a real Docker engine (infra/check-deploy.sh runs this; it also runs alone):
#   1. infra/Dockerfile builds from a clean clone with the classic builder (DOCKER_BUILDKIT=0) and with BuildKit, its
#      base images being the local test-only stand-ins (tests/docker/standins.sh) passed as the file's own build
#      arguments;
#   2. the image runs alone (roles all, SQLite, local disk, as uid 10001): ready, takes an RTMP publish from ffmpeg on its
#      published port, serves HLS whose segment ffprobe reads, and stops on SIGTERM with exit code 0;
#   3. the real docker-compose.yml (stand-ins only through its *_IMAGE variables, free host ports through BROADCAST_*_PORT)
#      comes up with two origin replicas; ffmpeg publishes to the broadcast node's published RTMP port and hls.js plays
#      through the edge (the shipped infra/nginx-edge.conf, unchanged) for 30 s; then one origin's server is killed
#      (SIGKILL, as a crash: Docker's restart policy brings it back), then the broadcast node's; the viewer's stall
#      seconds and failed requests are reported for each phase; `docker-compose down -v` at the end, also on failure.
# Usage: tests/docker/check.sh SOURCE_DIR   (a clean clone; infra/check-deploy.sh passes its own)
# DOCKER_REPORT=FILE keeps the viewer's JSON report. Needs root (it starts dockerd when none runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
src=${1:?usage: tests/docker/check.sh SOURCE_DIR}
fail() { echo "check-docker: FAILED: $*" >&2; exit 1; }
step() { echo "check-docker: $*"; }
total=$SECONDS

scripts/deps.sh ffmpeg chromium npm curl openssl python3 docker-compose procps
tests/docker/engine.sh
work=$(mktemp -d /tmp/broadcast-docker.XXXXXX)
project=broadcasttest
container=""
publisher=""
viewer=""
compose() { docker-compose --project-directory "$src" --project-name "$project" --env-file "$work/.env" -f "$src/docker-compose.yml" "$@"; }
cleanup() {
  [[ -n "$viewer" ]] && kill "$viewer" 2>/dev/null || true
  [[ -n "$publisher" ]] && kill "$publisher" 2>/dev/null || true
  [[ -n "$container" ]] && docker rm -f "$container" >/dev/null 2>&1 || true
  [[ -f "$work/.env" ]] && compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# A stack left by an interrupted run holds the fixed compose networks: remove it first.
docker ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r docker rm -f >/dev/null
docker network ls -q --filter "label=com.docker.compose.project=$project" | xargs -r docker network rm >/dev/null

start=$SECONDS
tests/docker/standins.sh "$work/standins.env"
step "stand-in base images ready in $((SECONDS - start)) s ($(cut -d= -f2 "$work/standins.env" | xargs))"
# shellcheck disable=SC1091
set -a; source "$work/standins.env"; set +a

# --- 1. the image, from the clean clone, with the classic builder --------------------------------------------------
image=broadcast-test/broadcast:$(git -C "$src" rev-parse --short HEAD)
start=$SECONDS
if ! DOCKER_BUILDKIT=0 docker build --network=host -f "$src/infra/Dockerfile" -t "$image" \
    --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg SDK_IMAGE="$SDK_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
    "$src" >"$work/build.log" 2>&1; then
  grep -E 'error|Error|not found|does not exist' "$work/build.log" | tail -n 15 >&2 || tail -n 30 "$work/build.log" >&2
  fail "docker build -f infra/Dockerfile (classic builder) failed from a clean clone (log above)"
fi
size=$(docker image inspect -f '{{.Size}}' "$image")
step "infra/Dockerfile built from a clean clone with the classic builder in $((SECONDS - start)) s: $image, $((size / 1000000)) MB"
# The same file with BuildKit, as Debian's docker.io CLI drives the engine's own BuildKit (DOCKER_BUILDKIT=1; no buildx
# plugin needed): BUILDPLATFORM and TARGETARCH come from BuildKit here, not the classic builder's fallbacks.
if [[ -x /usr/bin/docker ]]; then
  start=$SECONDS
  if ! DOCKER_BUILDKIT=1 /usr/bin/docker build --network=host --progress=plain -f "$src/infra/Dockerfile" \
      -t broadcast-test/broadcast-buildkit:check --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg SDK_IMAGE="$SDK_IMAGE" \
      --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" "$src" >"$work/buildkit.log" 2>&1; then
    grep -E 'error|ERROR' "$work/buildkit.log" | tail -n 15 >&2 || tail -n 30 "$work/buildkit.log" >&2
    fail "docker build -f infra/Dockerfile with BuildKit failed from a clean clone (log above)"
  fi
  grep -q 'case "amd64" in' "$work/buildkit.log" || fail "BuildKit did not set TARGETARCH for the build stage"
  buildkit_size=$(docker image inspect -f '{{.Size}}' broadcast-test/broadcast-buildkit:check)
  docker rmi broadcast-test/broadcast-buildkit:check >/dev/null
  # BuildKit keeps its own cache: entries older than a day go, so a machine that runs this often does not fill up.
  DOCKER_BUILDKIT=1 /usr/bin/docker builder prune -f --filter until=24h >/dev/null 2>&1 || true
  step "infra/Dockerfile built from a clean clone with BuildKit in $((SECONDS - start)) s: $((buildkit_size / 1000000)) MB"
fi
docker tag "$image" broadcast:local
# Earlier runs' images (other commits) go: the machine keeps one, whose layers are the next build's cache.
docker images broadcast-test/broadcast --format '{{.Repository}}:{{.Tag}}' | grep -vx "$image" | xargs -r docker rmi >/dev/null 2>&1 || true

# --- 2. the image alone ---------------------------------------------------------------------------------------------
http=$(scripts/free-port.sh); rtmp=$(scripts/free-port.sh)
token=$(openssl rand -hex 32)
start=$SECONDS
container=$(docker run -d -p "127.0.0.1:$http:8080" -p "127.0.0.1:$rtmp:1935" -e Admin__Token="$token" \
  -e Transcode__Enabled=false -e Logging__Format=json "$image")
ready=""
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$http/readyz" 2>/dev/null && { ready=1; break; }
  [[ "$(docker inspect -f '{{.State.Running}}' "$container")" == true ]] || break
  sleep 0.2
done
[[ -n "$ready" ]] || { docker logs "$container" 2>&1 | tail -n 30 >&2; fail "the image did not answer /readyz within 60 s (log above)"; }
ready_s=$((SECONDS - start))
[[ "$(docker exec "$container" id -u)" == 10001 ]] || fail "the image does not run as uid 10001"
curl -fsS -o /dev/null "http://127.0.0.1:$http/assets/lib/hls.min.js" || fail "the image does not serve the dashboard's /assets/lib/hls.min.js"
channel=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"Docker check"}' \
  "http://127.0.0.1:$http/api/channels") || fail "POST /api/channels on the image failed"
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["streamKey"])' <<<"$channel")
slug=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["slug"])' <<<"$channel")
publish() { # rtmp-url seconds: ffmpeg's test picture and tone, 640x360 at 30 fps, a keyframe every second
  exec ffmpeg -nostdin -loglevel error -re -f lavfi -i "testsrc2=size=640x360:rate=30" -f lavfi -i "sine=frequency=440" \
    -t "$2" -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -b:v 600k -c:a aac -b:a 64k -f flv "$1"
}
(publish "rtmp://127.0.0.1:$rtmp/live/$key" 60) >"$work/publish1.log" 2>&1 &
publisher=$!
segment=""
for _ in $(seq 1 200); do
  if master=$(curl -fsS "http://127.0.0.1:$http/live/$slug/master.m3u8" 2>/dev/null); then
    variant=$(grep -v '^#' <<<"$master" | head -n 1)
    media=$(curl -fsS "http://127.0.0.1:$http/live/$slug/$variant" 2>/dev/null || true)
    segment=$(grep -v '^#' <<<"$media" | grep . | tail -n 1 || true)
    [[ -n "$segment" ]] && break
  fi
  sleep 0.3
done
[[ -n "$segment" ]] || { docker logs "$container" 2>&1 | tail -n 30 >&2; fail "the image took no publish: no HLS segment within 60 s (log above)"; }
base="http://127.0.0.1:$http/live/$slug/$(dirname "$variant")"
curl -fsS -o "$work/init.mp4" "$base/$(grep -o 'URI="[^"]*"' <<<"$media" | head -n 1 | cut -d'"' -f2)" || fail "no init segment"
curl -fsS -o "$work/segment.m4s" "$base/$segment" || fail "no media segment"
cat "$work/init.mp4" "$work/segment.m4s" >"$work/segment.mp4"
probe=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 "$work/segment.mp4") \
  || fail "ffprobe cannot read the image's segment"
[[ "$probe" == "h264,640,360" ]] || fail "the image's segment is '$probe', not h264 640x360"
kill "$publisher" 2>/dev/null || true; wait "$publisher" 2>/dev/null || true; publisher=""
start=$SECONDS
docker stop -t 60 "$container" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
[[ "$code" == 0 ]] || { docker logs "$container" 2>&1 | tail -n 20 >&2; fail "the image exited $code on SIGTERM (log above)"; }
stop_s=$((SECONDS - start))
fatal=$(docker logs "$container" 2>&1 | grep -c -E '"Level":"(Fatal|Error)"' || true)
# Logging:Format=json: every line the server wrote is a JSON object (the banner too), the start-up lines with event ids.
docker logs "$container" >"$work/image.log" 2>&1
python3 - "$work/image.log" <<'PY' || fail "Logging:Format=json output of the image is not one JSON object per line (above)"
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
assert lines, "no log lines"
events = [json.loads(l) for l in lines]
assert all("Level" in e and "RenderedMessage" in e for e in events), "missing Level/RenderedMessage"
assert any("EventId" in e.get("Properties", {}) for e in events), "no line carries an EventId"
PY
docker rm "$container" >/dev/null; container=""
step "the image alone: ready in ${ready_s} s as uid 10001, served the dashboard's libraries, took an RTMP publish on its published port, served HLS ($probe), stopped on SIGTERM in ${stop_s} s with exit 0; JSON logs, $fatal error lines"

# --- 3. the compose stack -------------------------------------------------------------------------------------------
http=$(scripts/free-port.sh); rtmp=$(scripts/free-port.sh); edge=$(scripts/free-port.sh); srt=$(scripts/free-port.sh)
token=$(openssl rand -hex 32)
cat >"$work/.env" <<ENV
BROADCAST_ADMIN_TOKEN=$token
BROADCAST_PLAYBACK_NODE_TOKEN=$(openssl rand -hex 32)
POSTGRES_PASSWORD=$(openssl rand -hex 24)
BROADCAST_DB_PASSWORD=$(openssl rand -hex 24)
S3_ACCESS_KEY=broadcast-$(openssl rand -hex 4)
S3_SECRET_KEY=$(openssl rand -hex 24)
TURN_SECRET=$(openssl rand -hex 32)
TURN_CLI_PASSWORD=$(openssl rand -hex 32)
BROADCAST_HTTP_BASE_URL=http://127.0.0.1:$edge
BROADCAST_RTMP_BASE_URL=rtmp://127.0.0.1:$rtmp/live
BROADCAST_PUBLIC_IP=127.0.0.1
BROADCAST_HTTP_PORT=$http
BROADCAST_RTMP_PORT=$rtmp
BROADCAST_EDGE_PORT=$edge
BROADCAST_SRT_PORT=$srt
ENV
cat "$work/standins.env" >>"$work/.env"
# The engine's own open-files limit bounds what a container may be given (docker-compose.yml's BROADCAST_NOFILE).
engine_nofile=$(awk '/Max open files/{print $4}' "/proc/$(pgrep -xo dockerd)/limits")
if [[ "$engine_nofile" =~ ^[0-9]+$ ]] && ((engine_nofile < 65536)); then echo "BROADCAST_NOFILE=$engine_nofile" >>"$work/.env"; fi
start=$SECONDS
if ! compose up -d --no-build --scale origin=2 >"$work/up.log" 2>&1; then
  tail -n 30 "$work/up.log" >&2; compose logs --tail=20 >&2 || true
  fail "docker-compose up failed (above)"
fi
up=""
for _ in $(seq 1 300); do
  unhealthy=$(compose ps 2>/dev/null | grep -c -E 'starting|unhealthy|Exit' || true)
  if ((unhealthy == 0)) && curl -fsS -o /dev/null "http://127.0.0.1:$edge/healthz" 2>/dev/null; then up=1; break; fi
  sleep 1
done
[[ -n "$up" ]] || { compose ps >&2; compose logs --tail=30 >&2; fail "the compose stack was not healthy within 300 s (above)"; }
# Every service runs and none has restarted (a service without a healthcheck, the turn service, would otherwise pass
# while it crash-loops).
for ctr in $(compose ps -q); do
  state=$(docker inspect -f '{{.Name}} {{.State.Status}} {{.RestartCount}}' "$ctr")
  [[ "$state" == *" running 0" ]] || { docker logs --tail 20 "$ctr" >&2; fail "a service of the stack is not running steadily: $state (log above)"; }
done
step "docker-compose.yml up (postgres, seaweedfs, broadcast, 2 origins, edge, turn) and healthy in $((SECONDS - start)) s"

# The banner gives the public URLs (Public:*) that .env set, not the container's own address.
# The log is read whole before grep looks at it: with pipefail, "compose logs | grep -q" fails whenever grep's early exit
# cuts the writer off (SIGPIPE), which a long log makes likely.
broadcast_log=$(compose logs --no-color broadcast 2>/dev/null || true)
grep -q "HLS:  http://127.0.0.1:$edge/live/default/master.m3u8" <<<"$broadcast_log" \
  || { grep -A8 'Broadcast is running' <<<"$broadcast_log" >&2; fail "the broadcast node's banner does not give BROADCAST_HTTP_BASE_URL's playback URL (above)"; }
# The origins poll the control node with the playback node token once a second: no authentication failure is logged.
noise=$(grep -c 'was not authenticated' <<<"$broadcast_log" || true)
((noise == 0)) || fail "the broadcast node logged $noise authentication failures for the origins' polls"
channel=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"Compose check"}' \
  "http://127.0.0.1:$http/api/channels") || fail "POST /api/channels on the broadcast node failed"
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["streamKey"])' <<<"$channel")
slug=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["slug"])' <<<"$channel")
# The encoder reconnects every 2 s when its connection drops (as OBS does), for at most 4 minutes in all.
(
  until_t=$((SECONDS + 240))
  while ((SECONDS < until_t)); do (publish "rtmp://127.0.0.1:$rtmp/live/$key" $((until_t - SECONDS))) || true; sleep 2; done
) >"$work/publish2.log" 2>&1 &
publisher=$!
url="http://127.0.0.1:$edge/live/$slug/master.m3u8"
for _ in $(seq 1 200); do
  master=$(curl -fsS "$url" 2>/dev/null || true)
  grep -q '^#EXT-X-STREAM-INF' <<<"$master" && break
  sleep 0.3
done
grep -q '^#EXT-X-STREAM-INF' <<<"$master" || { compose logs --tail=20 broadcast origin edge >&2; fail "no master playlist through the edge within 60 s"; }
(cd tests/docker && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
(cd tests/players && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node tests/docker/edge-viewer.mjs "$url" 300 "$work/viewer.json" >"$work/viewer.log" 2>&1 &
viewer=$!
# Phase 1: 30 s of playback from the moment the picture moves (at most 60 s to start).
for _ in $(seq 1 120); do grep -q '^playing' "$work/viewer.log" 2>/dev/null && break; sleep 0.5; done
grep -q '^playing' "$work/viewer.log" || { cat "$work/viewer.log" >&2; fail "hls.js did not start playing through the edge within 60 s"; }
sleep 30   # the phase's length, not a wait for a condition: the viewer measures what happens in it
# The edge's audience log (infra/nginx-edge.conf to the broadcast node's Origin:EdgeLogPort): the edge proxies to the
# origins only, so the broadcast node counts this viewer from the edge's syslog lines alone.
metrics=$(curl -fsS "http://127.0.0.1:$http/metrics" || true)
edge_viewers=$(sed -n "s/^broadcast_viewers{stream=\"$slug\"} \([0-9]*\).*/\1/p" <<<"$metrics")
edge_lines=$(sed -n 's/^broadcast_edge_log_lines_total{result="counted"} \([0-9]*\).*/\1/p' <<<"$metrics")
if [[ "${edge_viewers:-0}" -lt 1 || "${edge_lines:-0}" -lt 1 ]]; then
  grep -E '^broadcast_(viewers|edge_log)' <<<"$metrics" >&2 || true
  fail "the broadcast node did not count the viewer through the edge from the edge's audience log (metrics above)"
fi
step "the edge's audience log: the broadcast node counts ${edge_viewers} viewer of the channel from the edge's ${edge_lines} lines"
origins=$(compose ps -q origin)
origin_ctr=${origins%%$'\n'*}
kill -KILL "$(pgrep -P "$(docker inspect -f '{{.State.Pid}}' "$origin_ctr")" -f Broadcast.Server)"
kill -USR1 "$viewer"
sleep 25   # phase 2's length
broadcast_ctr=$(compose ps -q broadcast)
kill -KILL "$(pgrep -P "$(docker inspect -f '{{.State.Pid}}' "$broadcast_ctr")" -f Broadcast.Server)"
kill -USR2 "$viewer"
# Phase 3: Docker's restart policy brings the node back; the encoder reconnects; the viewer is watched until 30 s after
# the node is healthy again, at most 150 s in all.
back=""
killed_at=$SECONDS
for _ in $(seq 1 120); do
  sleep 1
  if [[ "$(docker inspect -f '{{.RestartCount}} {{.State.Health.Status}}' "$broadcast_ctr" 2>/dev/null)" == [1-9]*" healthy" ]]; then
    back=$((SECONDS - killed_at)); break
  fi
done
if [[ -n "$back" ]]; then sleep 30; else compose ps >&2; compose logs --tail=25 broadcast >&2; fi
kill -TERM "$viewer" 2>/dev/null || true; wait "$viewer" || true; viewer=""
[[ -s "$work/viewer.json" ]] || { cat "$work/viewer.log" >&2; fail "the viewer wrote no report (log above)"; }
[[ -n "${DOCKER_REPORT:-}" ]] && cp "$work/viewer.json" "$DOCKER_REPORT"
restarts=$(docker inspect -f '{{.RestartCount}}' "$origin_ctr" "$broadcast_ctr" | xargs)
python3 - "$work/viewer.json" "$restarts" "${back:-not within 120}" <<'PY' || fail "the viewer through the edge did not play as required (report above)"
import json, sys
r = json.load(open(sys.argv[1]))
p = r["phases"]
for ph in p:
    for f in ph["failedRequests"][:8]:
        print(f"check-docker:   failed request at {f['t']:.1f} s ({ph['label']}): {f['status']} {f.get('error') or ''} {f['url'][:100]}")
print(f"check-docker: viewer through the edge: first frame {r['firstFrameSeconds']} s; restarts (origin, broadcast): {sys.argv[2]}; "
      f"the broadcast node healthy again {sys.argv[3]} s after it was killed")
for ph in p:
    print(f"check-docker:   {ph['label']}: {ph['playedSeconds']} s played in {ph['wallSeconds']} s, stalls {ph['stallSeconds']} s "
          f"(longest {ph['longestStallSeconds']} s), {len(ph['failedRequests'])} failed requests, ended {ph['endState']}")
if p[0]["longestStallSeconds"] > 2:
    for text in r["final"].get("stalls", [])[:2]:
        print(f"check-docker:   hls.js at a stall: {text}")
assert p[0]["wallSeconds"] >= 29 and p[0]["playedSeconds"] >= 27, "30 s through the edge: did not play"
assert p[0]["longestStallSeconds"] <= 2, "30 s through the edge: stalled"
assert len(p) >= 2 and p[1]["playedSeconds"] >= 10, "an origin killed: the viewer did not go on through the other origin"
PY
step "compose stack checked in $((SECONDS - start)) s; docker checks took $((SECONDS - total)) s"

#!/usr/bin/env bash
# Installs the test dependencies (Debian packages, npm packages, NuGet restore), starts a throwaway
# PostgreSQL cluster on loopback, and runs every test. Idempotent; safe to run again.
#   ./test.sh          every test: the unit and component projects, the Docker checks and the end-to-end tests
#   ./test.sh --fast   the developer's loop: the unit and component projects only (no Docker, no end-to-end)
#   ./test.sh --units  --fast's set-up and build, then the unit tests alone: each of those projects run with
#                      --filter "Kind!=Component", leaving out every class that starts a process (ffmpeg, Janus, psql,
#                      a browser...), which carries [Trait("Kind", "Component")] (the rule: tests/Broadcast.Server.Tests/TestKindTests.cs)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
FAST=0
UNITS=0
case "${1:-}" in
  "") ;;
  --fast) FAST=1 ;;
  --units) FAST=1; UNITS=1 ;;
  *) echo "usage: ./test.sh [--fast|--units]" >&2; exit 2 ;;
esac

# docker.io, debootstrap and iproute2 are the Docker checks' (tests/docker/engine.sh): installed here, before those
# checks start beside the build, so that only one apt runs at a time.
scripts/deps.sh ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav chromium postgresql npm \
  nginx libnginx-mod-rtmp libnginx-mod-stream wrk docker-compose janus coturn fonts-dejavu-core \
  docker.io debootstrap iproute2 openssl git curl python3 xmlsec1

# Browser players for end-to-end tests, from the npm registry (never a CDN at test time).
if [[ -f tests/players/package.json ]]; then
  (cd tests/players && if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi)
fi
# The dashboard's browser libraries, copied into control/wwwroot/lib (served by the app, never a CDN).
scripts/dashboard-assets.sh
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
results=$(mktemp -d)
status=0

# Deployment files on a real Docker engine (Debian's docker.io, started when none runs; 4-7 min warm, 18 cold):
# docker-compose.yml through Debian's docker-compose, infra/Dockerfile's paths and project closure, the arm64 publish,
# then the image built from a clean clone of this checkout's HEAD and run, and the compose stack played through the edge
# while an origin and the broadcast node are killed (base images: local test-only stand-ins, tests/docker/standins.sh).
# They run beside the build and the unit projects (most of their time is downloads, image layers and waits) and are
# awaited before the end-to-end tests, whose timing-bound collections must not share the two cores with an image build.
DEPLOY_PID=""
if [[ $FAST -eq 0 ]]; then
  (infra/check-deploy.sh >"$results/deploy.log" 2>&1; echo $? >"$results/deploy.rc") &
  DEPLOY_PID=$!
fi

# S3-compatible peer for the S3 store tests (npm s3rver, pinned in tests/s3/package-lock.json).
(cd tests/s3 && npm ci --no-audit --no-fund --loglevel=error)

# A throwaway PostgreSQL 15 cluster for repository and scheduling tests.
PGBIN=/usr/lib/postgresql/15/bin
PGDIR=$(mktemp -d /tmp/broadcast-pg.XXXXXX)
chown postgres: "$PGDIR"
PGPORT=$(scripts/free-port.sh)
S3PID=""
cleanup() {
  if [[ -n "${SOAK_PID:-}" ]] && kill -0 "$SOAK_PID" 2>/dev/null; then
    pkill -TERM -P "$SOAK_PID" 2>/dev/null || true
  fi
  if [[ -n "$DEPLOY_PID" ]] && kill -0 "$DEPLOY_PID" 2>/dev/null; then
    pkill -TERM -P "$DEPLOY_PID" 2>/dev/null || true
    kill "$DEPLOY_PID" 2>/dev/null || true
  fi
  [[ -n "$S3PID" ]] && kill "$S3PID" 2>/dev/null || true
  [[ -n "${S3DIR:-}" ]] && rm -rf "$S3DIR" "$S3DIR.log"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1" -w start >/dev/null
export BROADCAST_TEST_PG="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres"

# One shared s3rver on loopback; tests make a bucket each (tests that stop S3 start their own). Its PUT replaces an
# object atomically, as S3's does (tests/s3/atomic-put.js).
S3DIR=$(mktemp -d /tmp/broadcast-s3.XXXXXX)
S3PORT=$(scripts/free-port.sh)
NODE_OPTIONS=--openssl-legacy-provider node -r ./tests/s3/atomic-put.js tests/s3/node_modules/s3rver/bin/s3rver.js \
  -d "$S3DIR" -a 127.0.0.1 -p "$S3PORT" --no-vhost-buckets --silent >"$S3DIR.log" 2>&1 &
S3PID=$!
for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$S3PORT") 2>/dev/null && break; sleep 0.1; done
export BROADCAST_TEST_S3="http://127.0.0.1:$S3PORT"

dotnet build Broadcast.sln -c Release -nologo -v quiet -clp:ErrorsOnly

# One test project's run, its TRX in the results folder (the closing totals read them); more dotnet test arguments after it.
dotnet_test() { # project [trx name] [arguments...]
  local project=$1 trx=${2:-$(basename "$1")}
  shift $(($# < 2 ? $# : 2))
  dotnet test "$project" -c Release --no-build -nologo --logger "trx;LogFileName=$trx.trx" --results-directory "$results" "$@"
}

# The end-to-end project's 3-minute soak (tests/Broadcast.EndToEnd.Tests/Soak/SoakTests.cs) in a process of its own, beside
# the unit projects: it checks memory, descriptors, gaps and failed fetches of its own server, not time, and needs about a
# third of one core, so it costs the unit phase far less than its 3 minutes alone after the end-to-end tests.
SOAK_CLASS=Broadcast.EndToEnd.Tests.Soak.SoakTests
SOAK_PID=""
if [[ $FAST -eq 0 ]]; then
  (start=$SECONDS
   dotnet_test tests/Broadcast.EndToEnd.Tests Broadcast.EndToEnd.Soak --filter "FullyQualifiedName~$SOAK_CLASS." >"$results/soak.log" 2>&1 \
     || touch "$results/soak.failed"
   echo "$((SECONDS - start))" >"$results/soak.seconds") &
  SOAK_PID=$!
fi

# One test project (with --units, its unit tests alone); its output is printed whole when it ends (two run at once), and
# a failure leaves a mark.
UNIT_FILTER=()
if [[ $UNITS -eq 1 ]]; then UNIT_FILTER=(--filter "Kind!=Component"); fi
run_tests() { # project
  local project=$1
  local name; name=$(basename "$project")
  local start=$SECONDS
  if ! dotnet_test "$project" "" "${UNIT_FILTER[@]}" >"$results/$name.log" 2>&1; then
    touch "$results/$name.failed"
  fi
  flock "$results/print.lock" bash -c 'echo "== $1 ($2 s)"; cat "$3"' _ "$name" "$((SECONDS - start))" "$results/$name.log"
}

# The unit and component projects, two at a time from one queue, longest first (their last run's order; a project
# not named here goes last), so both cores stay busy until the queue is empty.
queue="$results/queue"
for name in Ingest Compositor Transcoder Clips Control Server Media Packager WebRtc; do
  [[ -d "tests/Broadcast.$name.Tests" ]] && echo "tests/Broadcast.$name.Tests"
done >"$queue"
for project in tests/Broadcast.*.Tests; do
  [[ "$project" == *EndToEnd* ]] && continue
  grep -qxF "$project" "$queue" || echo "$project" >>"$queue"
done
next_project() { flock "$queue.lock" bash -c 'head -n 1 "$1"; sed -i 1d "$1"' _ "$queue"; }
lane() { local project; while project=$(next_project) && [[ -n "$project" ]]; do run_tests "$project"; done; }
units_start=$SECONDS
lane & lane_pid=$!
lane
wait "$lane_pid"
if [[ $UNITS -eq 1 ]]; then
  echo "== unit tests of the unit and component projects: $((SECONDS - units_start)) s"
else
  echo "== unit and component projects: $((SECONDS - units_start)) s"
fi
if [[ -n "$SOAK_PID" ]]; then
  soak_wait=$SECONDS
  wait "$SOAK_PID" || true
  echo "== the soak, beside them ($(cat "$results/soak.seconds" 2>/dev/null || echo '?') s; waited $((SECONDS - soak_wait)) s after them)"
  cat "$results/soak.log"
fi
compgen -G "$results/*.failed" >/dev/null && status=1

if [[ $FAST -eq 0 ]]; then
  deploy_start=$SECONDS
  wait "$DEPLOY_PID" || true
  cat "$results/deploy.log"
  echo "== Docker checks: waited $((SECONDS - deploy_start)) s for them after the unit projects"
  if [[ "$(cat "$results/deploy.rc" 2>/dev/null)" != "0" ]]; then
    echo "check-deploy: FAILED (log above)"
    status=1
  fi
  # Alone, and streamed as it runs: it is the longest phase.
  e2e_start=$SECONDS
  echo "== Broadcast.EndToEnd.Tests"
  # Load runs ([Trait("Kind", "Load")], twenty browsers on the two cores) are bench/'s, not the suite's: bench/audience.sh.
  if ! dotnet_test tests/Broadcast.EndToEnd.Tests "" --filter "FullyQualifiedName!~$SOAK_CLASS.&Kind!=Load" 2>&1 | tee "$results/Broadcast.EndToEnd.Tests.log"; then
    status=1
  fi
  echo "== end-to-end: $((SECONDS - e2e_start)) s"
fi

# One closing line for CI: totals across every test project's TRX summary.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters=$(grep -o '<Counters [^>]*' "$trx" | head -n 1)
  get() { local v; v=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${v:-0}"; }
  passed=$((passed + $(get passed))); failed=$((failed + $(get failed) + $(get error) + $(get timeout)))
  skipped=$((skipped + $(get notExecuted)))
done
# Each failed test's name and the head of its message last, where CI's tail of the output still shows them.
if [[ $failed -gt 0 ]]; then
  echo "== failed tests"
  perl -0ne 'while (/<UnitTestResult [^>]*?testName="([^"]*)"[^>]*?outcome="(?:Failed|Error|Timeout)"[^>]*>(.*?)<\/UnitTestResult>/sg) {
      my ($name, $body) = ($1, $2); my ($message) = $body =~ /<Message>(.*?)<\/Message>/s; $message //= "(no message)";
      $message =~ s/&lt;/</g; $message =~ s/&gt;/>/g; $message =~ s/&quot;/"/g; $message =~ s/&amp;/&/g;
      print "- $name\n  ", substr($message, 0, 1500), "\n" }' "$results"/*.trx
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

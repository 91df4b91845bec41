#!/usr/bin/env bash
# The audience report at the size #70 names: twenty browser viewers (hls.js, dash.js, Shaka; some low-latency, some through
# the nginx edge, one without CMCD) and two WHEP viewers on one broadcast, with a throttled viewer's rung switch and a
# five-second encoder pause, against what the players themselves recorded (peak, unique viewers, minutes watched within 5 %,
# the delivery split, the rung switch and the stall). It is the end-to-end test AudienceAtScaleTests
# (tests/Broadcast.EndToEnd.Tests/Audience, [Trait("Kind", "Load")]), which ./test.sh leaves out: twenty decoding tabs take
# the two cores. Each round starts its own server, browser and edge; the script prints each round's report line, the
# players that had stopped by the end (a stopped player still asks for media and is still a viewer) and the pass count.
#
#   bench/audience.sh               # ROUNDS=3
#   ROUNDS=5 BUILD=0 bench/audience.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ROUNDS=${ROUNDS:-3}
scripts/deps.sh ffmpeg chromium nginx janus >/dev/null
if [[ "${BUILD:-1}" == 1 ]]; then
  log "building the end-to-end tests (Release)"
  dotnet build tests/Broadcast.EndToEnd.Tests -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
fi

out=$(mktemp -d)
passed=0
for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  start=$SECONDS
  if dotnet test tests/Broadcast.EndToEnd.Tests -c Release --no-build -nologo --filter "FullyQualifiedName~AudienceAtScaleTests" \
      --logger "console;verbosity=detailed" >"$out/round$round.log" 2>&1; then
    passed=$((passed + 1)); verdict=passed
  else
    verdict=failed
  fi
  echo "round $round: $verdict in $((SECONDS - start)) s"
  grep -m1 -o "[0-9.]* s: 22 viewers play" "$out/round$round.log" || true
  grep -m1 -o "players not playing at the end: .*" "$out/round$round.log" || true
  grep -m1 -o "report of [^;]*minutes [^)]*)[^}]*}[^}]*}[^}]*}[^}]*}}" "$out/round$round.log" || true
  [[ $verdict == failed ]] && grep -m1 -E "Exception|Assert" "$out/round$round.log" | cut -c1-400 || true
done
echo "AudienceAtScaleTests: $passed of $ROUNDS rounds passed (logs in $out)"

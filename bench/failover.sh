#!/usr/bin/env bash
# Failover benchmark: what a viewer sees when one node of the compose topology dies.
#
# Runs tests/Broadcast.EndToEnd.Tests/Storage/TopologyTests (the compose topology as processes on loopback: PostgreSQL,
# the S3 peer, two ingest + control nodes, a control node, two origin-only nodes, infra/nginx-edge.conf in front)
# RUNS times. Each run plays a public channel in hls.js through the edge, kills one origin, then the control node the
# origins poll, then the primary ingest node while a backup encoder publishes to the other ingest node (it takes the
# channel once the primary's 6 s lease lapses), and reports per phase the seconds the picture stood still (position
# sampled every 250 ms) and the requests through the edge that failed (the playlist every 250 ms). Appends a table to
# bench/RESULTS.md.
#
#   RUNS=3 bench/failover.sh
#
# There is no peer to run beside it: the comparison is between phases (before the kills vs after each kill).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
bench_init
cd "$REPO_DIR"
dotnet build tests/Broadcast.EndToEnd.Tests -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null || die "build failed"
artifact="$REPO_DIR/tests/Broadcast.EndToEnd.Tests/bin/Release/net10.0/artifacts/topology.json"
results="$BENCH_TMP/runs.txt"
: >"$results"
for run in $(seq 1 "$RUNS"); do
  rm -f "$artifact"
  log "run $run/$RUNS"
  if ! dotnet test tests/Broadcast.EndToEnd.Tests -c Release --no-build --filter "FullyQualifiedName~TopologyTests" \
      >"$BENCH_TMP/run-$run.log" 2>&1; then
    log "run $run failed; its error:"
    grep -A 80 "Error Message" "$BENCH_TMP/run-$run.log" >&2 || tail -n 40 "$BENCH_TMP/run-$run.log" >&2
  fi
  [[ -f $artifact ]] && { cat "$artifact"; echo; } >>"$results"
done
[[ -s $results ]] || die "no run produced $artifact"

# One JSON array per line: [{"Name":..,"Seconds":..,"FrozenSeconds":..,"Requests":..,"FailedRequests":..}, ...]
table=$(awk '
  { n = split($0, items, /\},\{/)
    for (i = 1; i <= n; i++) {
      s = items[i]
      match(s, /"Name":"[^"]*"/); name = substr(s, RSTART + 8, RLENGTH - 9)
      match(s, /"FrozenSeconds":[0-9.]+/); frozen = substr(s, RSTART + 16, RLENGTH - 16) + 0
      match(s, /"Requests":[0-9]+/); req = substr(s, RSTART + 11, RLENGTH - 11) + 0
      match(s, /"FailedRequests":[0-9]+/); failed = substr(s, RSTART + 17, RLENGTH - 17) + 0
      if (!(name in seen)) { seen[name] = 1; order[++count] = name }
      runs[name]++; frozenSum[name] += frozen; if (frozen > frozenMax[name]) frozenMax[name] = frozen
      reqSum[name] += req; failedSum[name] += failed
    } }
  END { for (k = 1; k <= count; k++) { nm = order[k]
      printf "| %s | %d | %.2f | %.2f | %d | %d |\n", nm, runs[nm], frozenSum[nm] / runs[nm], frozenMax[nm], reqSum[nm], failedSum[nm] } }' "$results")

{
  printf '\n## failover: a viewer through the edge while nodes die — %s\n\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf 'Command: `RUNS=%s bench/failover.sh` (commit %s, %s cores, load average %s)\n\n' "$RUNS" "$(git rev-parse --short HEAD)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '| phase | runs | frozen s (mean) | frozen s (max) | edge requests | failed |\n|---|---|---|---|---|---|\n'
  printf '%s\n' "$table"
  printf '\nhls.js 1.7 (default live settings) on a public 2 s-segment channel through infra/nginx-edge.conf; "origin killed":\n'
  printf 'SIGKILL of one of two origins; "control node killed": SIGKILL of the control node the origins poll (the ingest\n'
  printf 'nodes, also control nodes, keep running); "primary ingest killed": SIGKILL of the node the encoder publishes to,\n'
  printf 'while a backup encoder retries the key on the other ingest node every 0.5 s (refused until the 3 s lease lapses;\n'
  printf 'the frozen seconds are the gap a viewer sees). Each phase lasts until the player has advanced 6 s.\n'
} | tee -a "$BENCH_DIR/RESULTS.md"

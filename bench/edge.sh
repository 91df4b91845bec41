#!/usr/bin/env bash
# Edge collapse benchmark: infra/nginx-edge.conf (Debian nginx) in front of one Broadcast origin that reads an
# S3 bucket (s3rver) an ingest node writes; 200 viewers fetch the live playlist and its newest segment every
# second for 20 s. Runs the end-to-end test that asserts the limits and appends its measured numbers to
# bench/RESULTS.md. Usage: bench/edge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
(cd tests/s3 && npm ci --no-audit --no-fund --loglevel=error)
dotnet build tests/Broadcast.EndToEnd.Tests -c Release -nologo -v quiet -clp:ErrorsOnly
out=tests/Broadcast.EndToEnd.Tests/bin/Release/net10.0/artifacts/edge-cache.json
rm -f "$out"
dotnet test tests/Broadcast.EndToEnd.Tests -c Release --no-build -nologo \
  --filter "FullyQualifiedName~Broadcast.EndToEnd.Tests.Storage.EdgeCacheTests"
commit=$(git rev-parse --short HEAD)
# (render step below: reads only the test's JSON, so a section can be re-rendered from the same run)
load=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$commit" "$load" >>bench/RESULTS.md <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1]))
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(f"\n## edge: {r['clients']} viewers behind infra/nginx-edge.conf, one origin on S3 — {now}\n")
print(f"Command: `bench/edge.sh` (commit {sys.argv[2]}, 2 cores, load average {sys.argv[3]})\n")
print("| measure | value | limit |")
print("|---|---|---|")
print(f"| viewer requests to the edge (playlist + newest segment, each viewer every 1 s, {r['seconds']} s) | {r['edgeRequests']} | |")
print(f"| failed viewer rounds | {r['failures']} | <= 1% |")
print(f"| origin requests for segments / distinct segments | {r['originSegmentRequests']} / {r['distinctSegments']} | |")
print(f"| **max origin requests per segment** | **{r['maxRequestsPerSegment']}** | 1 per edge |")
print(f"| **origin requests for the live playlist** (max-age=1) | **{r['originPlaylistRequests']}** | <= {r['playlistBound']} (one per cache period) |")
print(f"| viewer round time p50 / p99 (ms) | {r['p50Ms']} / {r['p99Ms']} | |")
origin_total = r['originSegmentRequests'] + r['originPlaylistRequests']
print(f"| **collapse: edge requests / origin requests** | **{r['edgeRequests'] / max(1, origin_total):.0f}x** | |")
cs = ", ".join(f"{k}: {v}" for k, v in r['edgeCacheStatus'].items())
print(f"\nEdge X-Cache-Status counts: {cs}.")
print("Origin requests are counted from the origin's own request log (ASP.NET Core hosting diagnostics). "
      "Requests that wait behind a miss (proxy_cache_lock) re-check the lock every 500 ms, so a viewer arriving "
      "with a new segment waits at least that long; the rest of the tail is the machine's load (all load generator, "
      "nginx, origin, ingest, s3rver and ffmpeg share 2 cores). "
      "Peer for the ratio: without the edge every viewer request reaches the origin, so the collapse ratio is "
      "edge requests / origin requests.")
PY
tail -n 20 bench/RESULTS.md

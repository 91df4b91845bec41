#!/usr/bin/env bash
# Prints a TCP port, random in 20000-59999, that no socket uses (listening or connected, IPv4 or IPv6, as
# /proc/net/tcp{,6} show): for test servers, benchmarks and the deployment check. Fails after 200 tries rather
# than loop forever on a machine whose ports are taken.
set -euo pipefail
for ((i = 0; i < 200; i++)); do
  port=$((20000 + RANDOM % 40000))
  hex=$(printf '%04X' "$port")
  # One awk decides (no "| grep -q": with pipefail, a writer cut off by grep's early exit fails the pipeline).
  if ! awk -v p="$hex" '{ split($2, a, ":"); if (a[2] == p) f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
    echo "$port"
    exit 0
  fi
done
echo "free-port: no free TCP port after 200 tries" >&2
exit 1

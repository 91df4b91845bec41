#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine for the deployment tests (infra/check-deploy.sh): installs Debian's
# docker.io when missing and starts dockerd when none runs. As root only: the engine is the machine's.
# The engine is started with --iptables=false: these machines keep their own firewall, and the tests need no NAT (builds
# and stand-ins reach the package registries with --network=host; published ports are served by Docker's userland proxy
# on loopback). Idempotent: an engine that already answers is used as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "docker-engine: $*" >&2; exit 1; }
scripts/deps.sh docker.io debootstrap iproute2 >/dev/null
docker_ok() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }
if ! docker_ok; then
  [[ $(id -u) -eq 0 ]] || fail "no Docker engine answers and starting one needs root (sudo dockerd --iptables=false)"
  log=/var/log/broadcast-test-dockerd.log
  # setsid: the engine outlives this script (the next run reuses it and its image cache).
  setsid dockerd --iptables=false >>"$log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do docker_ok && break; sleep 0.2; done
  docker_ok || { tail -n 20 "$log" >&2; fail "dockerd did not answer within 30 s (log above)"; }
fi
echo "docker-engine: Docker $(docker info --format '{{.ServerVersion}}') ($(docker info --format '{{.Driver}}') storage)"

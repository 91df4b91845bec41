#!/usr/bin/env bash
# CI checks of the deployment files, without a Docker engine (./test.sh runs this; it also runs alone):
#   1. docker-compose.yml is valid for Debian's docker-compose (1.29.2) with a throwaway .env of generated secrets,
#      and is refused when any one of them is missing (every secret is required, none has a default);
#   2. every path infra/Dockerfile copies from the build context exists in a clean clone and is not dockerignored;
#   3. infra/build-server.sh, which the Dockerfile's build stage runs, builds the server and its dashboard libraries
#      from that clean clone (a git clone of this checkout's HEAD: commit before running it), for linux-x64 and for
#      linux-arm64 (the Dockerfile's TARGETARCH=arm64 build);
#   4. that published server starts as the image starts it (roles ingest,control,origin; JSON logs), answers /readyz,
#      serves the dashboard's libraries and exits 0 on SIGTERM.
# Stops at the first failure with a line saying what failed. Idempotent; installs docker-compose when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

fail() { echo "check-deploy: FAILED: $*" >&2; exit 1; }
step() { echo "check-deploy: $*"; }

scripts/deps.sh docker-compose openssl git curl python3

work=$(mktemp -d /tmp/broadcast-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- 1. compose --------------------------------------------------------------------------------------------------
cat >"$work/.env" <<ENV
BROADCAST_ADMIN_TOKEN=$(openssl rand -hex 32)
BROADCAST_PLAYBACK_NODE_TOKEN=$(openssl rand -hex 32)
POSTGRES_PASSWORD=$(openssl rand -hex 24)
BROADCAST_DB_PASSWORD=$(openssl rand -hex 24)
S3_ACCESS_KEY=broadcast-$(openssl rand -hex 4)
S3_SECRET_KEY=$(openssl rand -hex 24)
TURN_SECRET=$(openssl rand -hex 32)
BROADCAST_HTTP_BASE_URL=https://broadcast.example.com
BROADCAST_RTMP_BASE_URL=rtmp://ingest.example.com:1935/live
BROADCAST_PUBLIC_IP=203.0.113.10
ENV
# Only the .env file speaks: a variable of the caller's environment must not stand in for a missing one.
compose() { env -i PATH="$PATH" HOME="$work" docker-compose --project-directory "$ROOT" --env-file "$1" -f "$ROOT/docker-compose.yml" config -q; }
if ! out=$(compose "$work/.env" 2>&1); then
  echo "$out" >&2
  fail "docker-compose config rejected docker-compose.yml with a complete .env (above)"
fi
# Each variable alone missing must stop compose, naming it: none has a default a forgotten .env line would fall back to.
while IFS='=' read -r name _; do
  grep -v "^$name=" "$work/.env" >"$work/partial.env"
  if out=$(compose "$work/partial.env" 2>&1); then
    fail "docker-compose config accepted docker-compose.yml without $name: it has a default somewhere (use \${$name:?…})"
  fi
  grep -q "$name" <<<"$out" || { echo "$out" >&2; fail "docker-compose refused a .env without $name, but not naming it (above)"; }
done <"$work/.env"
# README's .env block is what operators paste: it must set exactly these variables.
readme=$(sed -n '/^cat >.env <<ENV$/,/^ENV$/p' README.md | sed -n 's/^\([A-Z0-9_]*\)=.*/\1/p' | sort)
[[ "$readme" == "$(cut -d= -f1 "$work/.env" | sort)" ]] \
  || fail "README.md's .env block sets {$(echo $readme)}, docker-compose.yml needs {$(cut -d= -f1 "$work/.env" | sort | xargs)}"
step "docker-compose.yml valid ($(docker-compose version --short 2>/dev/null || echo docker-compose)); refused without any one of its $(grep -c = "$work/.env") .env variables"

# --- 2. clean clone and the Dockerfile's context paths ------------------------------------------------------------
git clone -q --no-hardlinks "$ROOT" "$work/src" || fail "git clone of $ROOT failed"
[[ -z "$(git status --porcelain --untracked-files=no)" ]] \
  || step "note: uncommitted changes are not in the clean clone (it is HEAD, $(git rev-parse --short HEAD))"
mapfile -t ignored < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$work/src/.dockerignore" 2>/dev/null)
checked=0
# COPY/ADD lines without --from: the sources are every argument but the last (flags like --chown skipped).
while read -r -a words; do
  args=()
  for w in "${words[@]:1}"; do [[ $w == --* ]] || args+=("$w"); done
  ((${#args[@]} >= 2)) || fail "infra/Dockerfile: cannot read '${words[*]}'"
  for src in "${args[@]:0:${#args[@]}-1}"; do
    src=${src%/}
    [[ -e "$work/src/$src" ]] || fail "infra/Dockerfile copies '$src', which a clean clone does not have"
    for pattern in "${ignored[@]}"; do
      p=${pattern#\*\*/}; p=${p%/}
      if [[ "$src" == $p || "$src" == $p/* || "$src" == */$p || "$src" == */$p/* ]]; then
        fail "infra/Dockerfile copies '$src', which .dockerignore ('$pattern') leaves out of the build context"
      fi
    done
    checked=$((checked + 1))
  done
done < <(grep -E '^(COPY|ADD)[[:space:]]' "$work/src/infra/Dockerfile" | grep -v -- '--from=')
((checked > 0)) || fail "infra/Dockerfile has no COPY from the build context"
grep -q '^RUN infra/build-server.sh ' "$work/src/infra/Dockerfile" || fail "infra/Dockerfile does not run infra/build-server.sh"
step "infra/Dockerfile: $checked context paths exist in a clean clone"

# --- 3. the image's build script, from the clean clone -------------------------------------------------------------
start=$SECONDS
"$work/src/infra/build-server.sh" linux-x64 "$work/out" || fail "infra/build-server.sh failed from a clean clone"
[[ -x "$work/out/Broadcast.Server" ]] || fail "no Broadcast.Server executable in the published output"
for f in hls.min.js hls.worker.js signalr.min.js uPlot.iife.min.js uPlot.min.css; do
  [[ -s "$work/out/wwwroot/lib/$f" ]] || fail "published output lacks wwwroot/lib/$f"
done
step "infra/build-server.sh from a clean clone: published for linux-x64 in $((SECONDS - start)) s"
# The Dockerfile's arm64 build (TARGETARCH=arm64) cross-publishes the same way: prove the RID restores and builds.
start=$SECONDS
"$work/src/infra/build-server.sh" arm64 "$work/out-arm64" >/dev/null || fail "infra/build-server.sh arm64 failed from a clean clone"
machine=$(od -An -tx1 -j18 -N2 "$work/out-arm64/Broadcast.Server" | tr -d ' \n')
[[ "$machine" == "b700" ]] || fail "the arm64 Broadcast.Server is not an aarch64 executable (ELF machine $machine)"
rm -rf "$work/out-arm64"
step "infra/build-server.sh arm64: an aarch64 server in $((SECONDS - start)) s"

# --- 4. the published server starts as the image starts it ---------------------------------------------------------
# The Dockerfile's ENTRYPOINT and working-directory layout, without Docker: the self-contained executable with its
# content root in the output and ./data in an empty working directory, the compose roles, JSON logs. It must answer
# /readyz, serve the dashboard's libraries and stop cleanly on SIGTERM.
http_port=$("$ROOT/scripts/free-port.sh")
rtmp_port=$("$ROOT/scripts/free-port.sh")
mkdir -p "$work/run"
(cd "$work/run" && exec "$work/out/Broadcast.Server" --contentRoot="$work/out" --Roles=ingest,control,origin \
  --Http:Urls="http://127.0.0.1:$http_port" --Rtmp:Port="$rtmp_port" --Logging:Format=json \
  --Transcode:Enabled=false >"$work/server.log" 2>&1) &
server=$!
ready=""
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$http_port/readyz" 2>/dev/null; then ready=1; break; fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
if [[ -z "$ready" ]]; then
  kill "$server" 2>/dev/null || true
  tail -n 30 "$work/server.log" >&2
  fail "the published server did not answer /readyz within 60 s (log above)"
fi
curl -fsS -o /dev/null "http://127.0.0.1:$http_port/assets/lib/hls.min.js" || { kill "$server"; fail "the published server does not serve /assets/lib/hls.min.js"; }
kill -TERM "$server"
wait "$server" || fail "the published server did not exit 0 on SIGTERM (log: $(tail -n 5 "$work/server.log"))"
# Logging:Format=json: every line the server wrote is a JSON object, and the start-up lines carry their event id.
python3 - "$work/server.log" <<'PY' || fail "Logging:Format=json output is not one JSON object per line (see above)"
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
assert lines, "no log lines"
events = [json.loads(l) for l in lines]
assert all("Level" in e and "RenderedMessage" in e for e in events), "missing Level/RenderedMessage"
assert any("EventId" in e.get("Properties", {}) for e in events), "no line carries an EventId"
PY
step "the published server started with the compose roles, answered /readyz, served the dashboard libraries, stopped on SIGTERM; $(grep -c . "$work/server.log") JSON log lines"

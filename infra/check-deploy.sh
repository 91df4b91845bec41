#!/usr/bin/env bash
# CI checks of the deployment files (./test.sh runs this; it also runs alone, as root):
#   1. docker-compose.yml is valid for Debian's docker-compose (1.29.2) with a throwaway .env of generated secrets,
#      and is refused when any one of them is missing (every secret is required, none has a default);
#   2. every path infra/Dockerfile copies from the build context exists in a clean clone (a git clone of this checkout's
#      HEAD: commit before running it) and is not dockerignored, and it copies every project of the server's
#      project-reference closure (a missing one fails here, named);
#   3. infra/build-server.sh, which the Dockerfile's build stage runs, cross-publishes the server for linux-arm64 (the
#      Dockerfile's TARGETARCH=arm64 build) from that clean clone;
#   4. on a real Docker engine (Debian's docker.io, started when none runs: tests/docker/check.sh): the Dockerfile builds
#      from the clean clone, the image runs and takes a publish, and the compose stack comes up and plays through the
#      edge while an origin and then the broadcast node are killed. Base images that no registry here serves are local
#      test-only stand-ins (tests/docker/standins.sh), passed through the files' own image variables.
# Stops at the first failure with a line saying what failed. Idempotent; installs docker-compose and docker.io when missing.
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
TURN_CLI_PASSWORD=$(openssl rand -hex 32)
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
# The .env block of docs/scale-out.md is what operators paste: it must set exactly these variables.
readme=$(sed -n '/^cat >.env <<ENV$/,/^ENV$/p' docs/scale-out.md | sed -n 's/^\([A-Z0-9_]*\)=.*/\1/p' | sort)
[[ "$readme" == "$(cut -d= -f1 "$work/.env" | sort)" ]] \
  || fail "docs/scale-out.md's .env block sets {$(echo $readme)}, docker-compose.yml needs {$(cut -d= -f1 "$work/.env" | sort | xargs)}"
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
# The server's project-reference closure, each project copied twice: its .csproj for the restore layer and its folder
# for the build. A project the server references but the Dockerfile forgets fails here, named, before any build.
closure=$(python3 - "$work/src" <<'PY'
import os, re, sys
root = sys.argv[1]
seen, todo = set(), ["server/Broadcast.Server.csproj"]
while todo:
    project = todo.pop()
    if project in seen: continue
    seen.add(project)
    text = open(os.path.join(root, project), encoding="utf-8").read()
    for ref in re.findall(r'<ProjectReference\s+Include="([^"]+)"', text):
        todo.append(os.path.normpath(os.path.join(os.path.dirname(project), ref.replace("\\", "/"))))
print("\n".join(sorted(seen)))
PY
) || fail "cannot read server/Broadcast.Server.csproj's project references"
copies=$(grep -E '^COPY[[:space:]]' "$work/src/infra/Dockerfile" | grep -v -- '--from=')
while read -r project; do
  dir=$(dirname "$project")
  grep -qE "^COPY .*[[:space:]]$project[[:space:]].*$dir/\$|^COPY $project $dir/\$" <<<"$copies" \
    || fail "infra/Dockerfile does not copy $project (the restore layer's COPY $project $dir/), which server/Broadcast.Server.csproj needs"
  grep -qE "^COPY $dir/ $dir/\$" <<<"$copies" \
    || fail "infra/Dockerfile does not copy the sources of $project (COPY $dir/ $dir/), which server/Broadcast.Server.csproj needs"
done <<<"$closure"
step "infra/Dockerfile: $checked context paths exist in a clean clone; it copies all $(wc -l <<<"$closure") projects of the server's reference closure"

# --- 3. the arm64 build ------------------------------------------------------------------------------------------
# The Dockerfile's arm64 build (BuildKit, TARGETARCH=arm64) cross-publishes with infra/build-server.sh: prove the RID
# restores and builds from the clean clone (the amd64 image itself is built and run in step 4).
start=$SECONDS
"$work/src/infra/build-server.sh" arm64 "$work/out-arm64" >/dev/null || fail "infra/build-server.sh arm64 failed from a clean clone"
machine=$(od -An -tx1 -j18 -N2 "$work/out-arm64/Broadcast.Server" | tr -d ' \n')
[[ "$machine" == "b700" ]] || fail "the arm64 Broadcast.Server is not an aarch64 executable (ELF machine $machine)"
rm -rf "$work/out-arm64"
step "infra/build-server.sh arm64: an aarch64 server in $((SECONDS - start)) s"

# --- 4. on a real Docker engine: the image and the compose stack ----------------------------------------------------
tests/docker/check.sh "$work/src" || fail "the Docker checks failed (above)"

#!/usr/bin/env bash
# Test-only stand-ins for the base images infra/Dockerfile and docker-compose.yml pin, which cannot be pulled here (no
# image registry is reachable; only Debian's, NuGet's and npm's package registries are). Every one is made on this
# machine from Debian packages and says what it is in its name (broadcast-test-standin/...); nothing shipped names one:
# the tests pass them through the files' own variables (NODE_IMAGE, SDK_IMAGE, RUNTIME_IMAGE build arguments; the
# compose file's *_IMAGE variables), whose defaults are the real pinned tags.
#
#   debian-bookworm   debootstrap --variant=minbase bookworm: stands in for debian:12.11-slim (the runtime stage)
#   node              that + Debian's nodejs and npm (Node 18; the image pins Node 22): the assets stage
#   dotnet-sdk        that + this machine's .NET SDK (the version global.json pins): the build stage
#   postgres          that + Debian's PostgreSQL 15 and an entrypoint that honours the official image's POSTGRES_PASSWORD,
#                     PGDATA and /docker-entrypoint-initdb.d contract
#   seaweedfs-s3rver  that + s3rver (npm, tests/s3's pinned version) behind a `weed` command that takes the compose
#                     file's `weed server ... -s3 -s3.port -s3.config` line: the S3 API with the identity from s3.json
#                     and SeaweedFS's /status route; SeaweedFS itself is not in Debian
#   coturn            that + Debian's coturn (4.6), entrypoint turnserver, as the coturn image runs its arguments
#   nginx             debootstrap sid with Debian's nginx (1.30): the edge's `resolve` needs nginx 1.27.3 or later,
#                     which no stable Debian has, so the shipped infra/nginx-edge.conf runs unchanged
# Build stand-ins carry this machine's CA bundle (the registries are reached through a TLS-intercepting proxy here)
# and NuGet's offline revocation mode, as the machine itself is set up.
#
# Cached per machine: an image whose recipe label matches is reused, so a warm run costs seconds; a cold run
# (debootstrap twice, apt installs) about 3 minutes. Writes the variables to the file named by $1 (KEY=IMAGE lines).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
out=${1:?usage: tests/docker/standins.sh ENV_FILE}
fail() { echo "standins: $*" >&2; exit 1; }
here=tests/docker/standins
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ca=/etc/ssl/certs/ca-certificates.crt
[[ -s $ca ]] || fail "no CA bundle at $ca"
# A stand-in's recipe label: the debootstrap suite for a base; for the others their base's recipe, their setup, their
# changes and the files in tests/docker/standins. A stand-in whose recipe changed is rebuilt, the rest are kept.
files_recipe=$(cat "$here"/* tests/s3/package-lock.json | sha256sum | cut -c1-16)
recipe_of() { docker image inspect -f '{{index .Config.Labels "broadcast.test.recipe"}}' "$1" 2>/dev/null; }

current() { # image recipe → 0 when the image exists with that recipe
  [[ "$(recipe_of "$1")" == "$2" ]]
}

debootstrap_image() { # image suite [--include=...]
  local image=$1 suite=$2; shift 2
  local recipe="debootstrap-minbase-$suite$*"
  current "$image" "$recipe" && return 0
  local start=$SECONDS root
  root=$(mktemp -d /tmp/broadcast-standin-root.XXXXXX)
  debootstrap --variant=minbase "$@" "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -rf "$root" "$root.log"; fail "debootstrap $suite failed (log above)"; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change "LABEL broadcast.test.recipe=$recipe" \
    --change 'CMD ["bash"]' - "$image" >/dev/null || fail "docker import of $image failed"
  rm -rf "$root" "$root.log"
  echo "standins: $image (debootstrap $suite) in $((SECONDS - start)) s"
}

# commit_image image base setup-script [docker run options ...] -- [docker commit --change values ...]
# Runs the setup script in a container of base (registries through the host's network, the CA bundle and tests/docker/
# standins mounted read-only) and commits the result with the changes.
commit_image() {
  local image=$1 base=$2 script=$3; shift 3
  local run=() changes=()
  while (($#)) && [[ $1 != -- ]]; do run+=("$1"); shift; done
  (($#)) && shift
  changes=("$@")
  local recipe
  # The checkout's own path is no part of a recipe: CI clones to a new folder each run.
  recipe=$(printf '%s\n' "$(recipe_of "$base")" "$files_recipe" "$script" "${run[@]//$ROOT/ROOT}" "${changes[@]}" | sha256sum | cut -c1-16)
  current "$image" "$recipe" && return 0
  local start=$SECONDS name="broadcast-standin-build-$$"
  docker rm -f "$name" >/dev/null 2>&1 || true
  if ! docker run --name "$name" --network=host -v "$ca:/mnt/ca-certificates.crt:ro" -v "$ROOT/$here:/mnt/standins:ro" \
      "${run[@]}" "$base" bash -euo pipefail -c "$script" >"/tmp/$name.log" 2>&1; then
    tail -n 30 "/tmp/$name.log" >&2; docker rm -f "$name" >/dev/null 2>&1 || true
    fail "building $image failed (log above)"
  fi
  local args=(--change "LABEL broadcast.test.recipe=$recipe")
  for c in "${changes[@]}"; do args+=(--change "$c"); done
  docker commit "${args[@]}" "$name" "$image" >/dev/null || fail "docker commit of $image failed"
  docker rm -f "$name" >/dev/null
  rm -f "/tmp/$name.log"
  echo "standins: $image in $((SECONDS - start)) s"
}

apt_install='export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq --no-install-recommends'
apt_clean='apt-get clean; rm -rf /var/lib/apt/lists/*'
with_ca='install -D -m 0644 /mnt/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt'

bookworm=broadcast-test-standin/debian-bookworm:debootstrap
debootstrap_image "$bookworm" bookworm

sdk=broadcast-test-standin/dotnet-sdk:host
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
commit_image "$sdk" "$bookworm" "$apt_install ca-certificates libicu72 libssl3 >/dev/null; $with_ca; $apt_clean
  : sdk $(dotnet --version); cp -a /mnt/dotnet /usr/share/dotnet; ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet; dotnet --version" \
  -v "$dotnet_root:/mnt/dotnet:ro" -- \
  'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NUGET_CERT_REVOCATION_MODE=offline SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'

node=broadcast-test-standin/node:debian
commit_image "$node" "$bookworm" "$apt_install ca-certificates nodejs npm >/dev/null; $with_ca; $apt_clean; node --version" -- \
  'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'

postgres=broadcast-test-standin/postgres:15-debian
commit_image "$postgres" "$bookworm" "$apt_install postgresql-common >/dev/null
  sed -i 's/^#\?create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
  $apt_install postgresql-15 >/dev/null; $apt_clean
  install -m 0755 /mnt/standins/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
  install -d -o postgres -g postgres /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d" -- \
  'ENV PGDATA=/var/lib/postgresql/data' 'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["postgres"]'

seaweedfs=broadcast-test-standin/seaweedfs-s3rver:s3rver
commit_image "$seaweedfs" "$node" "$apt_install wget >/dev/null; $apt_clean
  install -d /opt/s3rver /etc/seaweedfs /data; cp /mnt/s3/package.json /mnt/s3/package-lock.json /opt/s3rver/
  (cd /opt/s3rver && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
  install -m 0755 /mnt/standins/weed-s3rver.js /usr/local/bin/weed" \
  -v "$ROOT/tests/s3:/mnt/s3:ro" -- 'ENV NODE_OPTIONS=--openssl-legacy-provider' 'ENTRYPOINT ["weed"]' 'CMD ["server"]'

coturn=broadcast-test-standin/coturn:debian
commit_image "$coturn" "$bookworm" "$apt_install coturn >/dev/null; $apt_clean; turnserver --version 2>/dev/null | head -n 1 || true" -- \
  'ENTRYPOINT ["turnserver"]' 'CMD []'

sid=broadcast-test-standin/debian-sid:debootstrap
# nginx comes with the debootstrap: the registry's copy of sid is a frozen snapshot whose Release file apt-get would
# refuse as expired (debootstrap does not check its date).
debootstrap_image "$sid" sid --include=nginx
nginx=broadcast-test-standin/nginx:debian-sid
commit_image "$nginx" "$sid" "useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx
  install -d -o nginx /var/cache/nginx; rm -f /etc/nginx/sites-enabled/*
  ln -sf /dev/stdout /var/log/nginx/access.log; ln -sf /dev/stderr /var/log/nginx/error.log; nginx -v" -- \
  'CMD ["nginx", "-g", "daemon off;"]'

# Stand-ins replaced by a new recipe leave their old layers untagged: remove those (this script's images only).
docker image prune -f --filter label=broadcast.test.recipe >/dev/null

cat >"$out" <<ENV
NODE_IMAGE=$node
SDK_IMAGE=$sdk
RUNTIME_IMAGE=$bookworm
POSTGRES_IMAGE=$postgres
SEAWEEDFS_IMAGE=$seaweedfs
TURN_IMAGE=$coturn
EDGE_IMAGE=$nginx
ENV

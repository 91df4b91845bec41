#!/bin/sh
# Test-only stand-in for the postgres image's entrypoint (tests/docker/standins.sh): the parts of its contract that
# docker-compose.yml uses. On an empty $PGDATA: initdb with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD,
# password (scram) authentication from the network, then every /docker-entrypoint-initdb.d/*.sh and *.sql run once
# against a server that listens on its socket only; then PostgreSQL in the foreground as the postgres user.
set -eu
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the postgres image refuses to start without it)}"
bin=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
install -d -o postgres -g postgres -m 0700 "$PGDATA"
install -d -o postgres -g postgres /var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"; chown postgres "$pwfile"
  as_postgres "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" -E UTF8 --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  as_postgres "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "stand-in entrypoint: running $f"; as_postgres sh "$f" ;;
      *.sql) echo "stand-in entrypoint: running $f"; as_postgres psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -f "$f" ;;
    esac
  done
  as_postgres "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  echo "stand-in entrypoint: initialised $PGDATA"
fi
[ "$1" = postgres ] && shift
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"

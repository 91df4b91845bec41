#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume (/docker-entrypoint-initdb.d).
# The control plane creates its own tables at start; this only sets up the database and a least-privilege role whose
# password comes from BROADCAST_DB_PASSWORD (docker-compose.yml passes it from .env; there is no default).
set -eu
: "${BROADCAST_DB_PASSWORD:?BROADCAST_DB_PASSWORD must be set}"
# psql's :'pw' quotes the value as a literal, whatever characters it holds.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" -v pw="$BROADCAST_DB_PASSWORD" <<'SQL'
CREATE ROLE broadcast LOGIN PASSWORD :'pw';
CREATE DATABASE broadcast OWNER broadcast ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE broadcast FROM PUBLIC;
\connect broadcast
ALTER SCHEMA public OWNER TO broadcast;
SQL

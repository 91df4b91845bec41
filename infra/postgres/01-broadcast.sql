-- Runs once, when the postgres container initialises an empty data volume (/docker-entrypoint-initdb.d).
-- The control plane creates its own tables at start; this only sets up the database and a least-privilege role.
-- The password here matches docker-compose.yml's default; override both for anything but a local trial.
CREATE ROLE broadcast LOGIN PASSWORD 'broadcast';
CREATE DATABASE broadcast OWNER broadcast ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE broadcast FROM PUBLIC;
\connect broadcast
ALTER SCHEMA public OWNER TO broadcast;

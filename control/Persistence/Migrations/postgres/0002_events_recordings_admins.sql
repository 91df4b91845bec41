-- Scheduled events, their recordings and the admin users.
-- btree_gist lets one exclusion constraint compare channel_id (=) and the time range (&&) together;
-- it is a trusted extension (PostgreSQL 13+), so a database owner may create it without superuser.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE events (
    id          text        NOT NULL PRIMARY KEY,
    channel_id  text        NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    record      boolean     NOT NULL DEFAULT false,
    state       text        NOT NULL,
    late        boolean     NOT NULL DEFAULT false,
    live_at     timestamptz NULL,
    ended_at    timestamptz NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT ck_events_times CHECK (ends_at > starts_at),
    CONSTRAINT ck_events_state CHECK (state IN ('scheduled', 'ready', 'live', 'ended', 'cancelled')),
    -- The database's own guard against two events of one channel overlapping (half-open [start, end)),
    -- for the race the service's check cannot see: two admins saving at once, or two nodes.
    CONSTRAINT ex_events_overlap EXCLUDE USING gist (channel_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
        WHERE (state <> 'cancelled')
);
CREATE INDEX ix_events_channel_starts ON events (channel_id, starts_at);
CREATE INDEX ix_events_starts ON events (starts_at);

CREATE TABLE recordings (
    id           text        NOT NULL PRIMARY KEY,
    channel_id   text        NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    event_id     text        NULL REFERENCES events (id) ON DELETE SET NULL,
    broadcast_id text        NOT NULL,
    hls_path     text        NOT NULL,
    dash_path    text        NOT NULL,
    duration_ms  bigint      NOT NULL,
    size_bytes   bigint      NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_recordings_broadcast ON recordings (channel_id, broadcast_id);
CREATE INDEX ix_recordings_created ON recordings (created_at);

CREATE TABLE admin_users (
    id            text        NOT NULL PRIMARY KEY,
    name          text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_admin_users_name ON admin_users (name);

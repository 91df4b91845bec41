-- Scheduled events, their recordings and the admin users. Times are TEXT as Microsoft.Data.Sqlite
-- writes DateTimeOffset ("yyyy-MM-dd HH:mm:ss.FFFFFFF+00:00"); every stored time is UTC, so text order
-- is time order and the overlap triggers below can compare them directly.
CREATE TABLE events (
    id          TEXT    NOT NULL PRIMARY KEY,
    channel_id  TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    starts_at   TEXT    NOT NULL,
    ends_at     TEXT    NOT NULL,
    record      INTEGER NOT NULL DEFAULT 0,
    state       TEXT    NOT NULL CHECK (state IN ('scheduled', 'ready', 'live', 'ended', 'cancelled')),
    late        INTEGER NOT NULL DEFAULT 0,
    live_at     TEXT    NULL,
    ended_at    TEXT    NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX ix_events_channel_starts ON events (channel_id, starts_at);
CREATE INDEX ix_events_starts ON events (starts_at);

-- The database's own guard against overlapping events of one channel (half-open [start, end)),
-- for races the service's check cannot see. SQLite has no exclusion constraints; triggers stand in.
CREATE TRIGGER tr_events_overlap_insert BEFORE INSERT ON events
WHEN NEW.state <> 'cancelled' AND EXISTS (
    SELECT 1 FROM events e
    WHERE e.channel_id = NEW.channel_id AND e.state <> 'cancelled'
      AND e.starts_at < NEW.ends_at AND NEW.starts_at < e.ends_at)
BEGIN
    SELECT RAISE(ABORT, 'events_overlap');
END;

CREATE TRIGGER tr_events_overlap_update BEFORE UPDATE OF channel_id, starts_at, ends_at, state ON events
WHEN NEW.state <> 'cancelled' AND EXISTS (
    SELECT 1 FROM events e
    WHERE e.id <> NEW.id AND e.channel_id = NEW.channel_id AND e.state <> 'cancelled'
      AND e.starts_at < NEW.ends_at AND NEW.starts_at < e.ends_at)
BEGIN
    SELECT RAISE(ABORT, 'events_overlap');
END;

CREATE TABLE recordings (
    id           TEXT    NOT NULL PRIMARY KEY,
    channel_id   TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    event_id     TEXT    NULL REFERENCES events (id) ON DELETE SET NULL,
    broadcast_id TEXT    NOT NULL,
    hls_path     TEXT    NOT NULL,
    dash_path    TEXT    NOT NULL,
    duration_ms  INTEGER NOT NULL,
    size_bytes   INTEGER NOT NULL,
    created_at   TEXT    NOT NULL
);
CREATE UNIQUE INDEX ux_recordings_broadcast ON recordings (channel_id, broadcast_id);
CREATE INDEX ix_recordings_created ON recordings (created_at);

CREATE TABLE admin_users (
    id            TEXT NOT NULL PRIMARY KEY,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_admin_users_name ON admin_users (name);

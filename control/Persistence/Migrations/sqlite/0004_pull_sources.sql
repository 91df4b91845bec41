-- Pull sources: a channel (or one of its events) takes its input from a URL instead of a publisher.
-- A row per owner; deleting the channel or the event deletes its source. url may hold a remote stream key:
-- the API shows it to admins only and logs print a redacted form.
CREATE TABLE channel_pull_sources (
    channel_id TEXT    NOT NULL PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    looped     INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT    NOT NULL
);

CREATE TABLE event_pull_sources (
    event_id   TEXT    NOT NULL PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    looped     INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT    NOT NULL
);

-- The audience kept per broadcast (#70; control/API.md "Audience"). Times are Unix seconds (UTC) aligned to 10 s buckets.
-- audience_samples: one row per bucket and playback node, so viewers summed over a bucket's rows never count a node twice
-- (a viewer seen by two nodes in one bucket counts on each, as each served it). Keys start with the channel: broadcast
-- ids are start times, which two channels may share. audience_sessions: one row per viewer of
-- a broadcast, upserted by every node (first seen the least, last seen the greatest); the viewer is an HMAC-SHA256 of the
-- player's session key under the day's salt (audience_salts, deleted after a day), never an address. Purged after
-- Analytics:RetentionDays.
CREATE TABLE audience_samples (
    broadcast_id TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,
    node_id      TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    viewers      INTEGER NOT NULL,
    hls          INTEGER NOT NULL,
    llhls        INTEGER NOT NULL,
    dash         INTEGER NOT NULL,
    whep         INTEGER NOT NULL,
    uncounted    INTEGER NOT NULL,
    PRIMARY KEY (channel_id, broadcast_id, bucket_start, node_id)
);
CREATE INDEX audience_samples_bucket ON audience_samples (bucket_start);

CREATE TABLE audience_sessions (
    broadcast_id TEXT NOT NULL,
    viewer       TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    delivery     TEXT NOT NULL,
    PRIMARY KEY (channel_id, broadcast_id, viewer)
);
CREATE INDEX audience_sessions_last_seen ON audience_sessions (last_seen);

CREATE TABLE audience_salts (
    day  TEXT NOT NULL PRIMARY KEY,
    salt BLOB NOT NULL
);

-- The audience kept per broadcast (#70; control/API.md "Audience"). Times are Unix seconds (UTC) aligned to 10 s buckets.
-- audience_samples: one row per bucket and playback node, so viewers summed over a bucket's rows never count a node twice
-- (a viewer seen by two nodes in one bucket counts on each, as each served it). Keys start with the channel: broadcast
-- ids are start times, which two channels may share. audience_sessions: one row per viewer of
-- a broadcast, upserted by every node (first seen the least, last seen the greatest); the viewer is an HMAC-SHA256 of the
-- player's session key under the day's salt (audience_salts, deleted after a day), never an address. Purged after
-- Analytics:RetentionDays.
CREATE TABLE audience_samples (
    broadcast_id text NOT NULL,
    bucket_start bigint NOT NULL,
    node_id      text NOT NULL,
    channel_id   text NOT NULL,
    viewers      bigint NOT NULL,
    hls          bigint NOT NULL,
    llhls        bigint NOT NULL,
    dash         bigint NOT NULL,
    whep         bigint NOT NULL,
    uncounted    bigint NOT NULL,
    PRIMARY KEY (channel_id, broadcast_id, bucket_start, node_id)
);
CREATE INDEX audience_samples_bucket ON audience_samples (bucket_start);

CREATE TABLE audience_sessions (
    broadcast_id text NOT NULL,
    viewer       text NOT NULL,
    channel_id   text NOT NULL,
    first_seen   bigint NOT NULL,
    last_seen    bigint NOT NULL,
    delivery     text NOT NULL,
    PRIMARY KEY (channel_id, broadcast_id, viewer)
);
CREATE INDEX audience_sessions_last_seen ON audience_sessions (last_seen);

CREATE TABLE audience_salts (
    day  text NOT NULL PRIMARY KEY,
    salt bytea NOT NULL
);

-- Clips: a range of a broadcast's stored segments, named by VOD playlists under {channel}/clips/{id}/. Times are TEXT
-- as Microsoft.Data.Sqlite writes DateTimeOffset, all UTC. first_segment..last_segment is what the clip holds against
-- retention (every rendition's segments of those numbers in broadcast_id), read once per delete batch by
-- (channel, broadcast).
CREATE TABLE clips (
    id            TEXT    NOT NULL PRIMARY KEY,
    channel_id    TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    broadcast_id  TEXT    NOT NULL,
    starts_at     TEXT    NOT NULL,
    ends_at       TEXT    NOT NULL,
    first_segment INTEGER NOT NULL,
    last_segment  INTEGER NOT NULL,
    frame_accurate INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (last_segment >= first_segment)
);
CREATE INDEX ix_clips_channel_broadcast ON clips (channel_id, broadcast_id);
CREATE INDEX ix_clips_channel_created ON clips (channel_id, created_at);

-- Clips: a range of a broadcast's stored segments, named by VOD playlists under {channel}/clips/{id}/.
-- first_segment..last_segment is what the clip holds against retention (every rendition's segments of those numbers in
-- broadcast_id), read once per delete batch by (channel, broadcast).
CREATE TABLE clips (
    id            text        NOT NULL PRIMARY KEY,
    channel_id    text        NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    title         text        NOT NULL,
    broadcast_id  text        NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    first_segment bigint      NOT NULL,
    last_segment  bigint      NOT NULL,
    frame_accurate boolean    NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT ck_clips_times CHECK (ends_at > starts_at),
    CONSTRAINT ck_clips_segments CHECK (last_segment >= first_segment)
);
CREATE INDEX ix_clips_channel_broadcast ON clips (channel_id, broadcast_id);
CREATE INDEX ix_clips_channel_created ON clips (channel_id, created_at);

-- Restream destinations: where a live channel is pushed (rtmp:// or rtmps://). The destination's stream key is
-- a secret of another platform: stored only as AES-GCM ciphertext under the server secret (associated data
-- "destination:{id}"), with its last characters in key_hint for display.
CREATE TABLE restream_destinations (
    id                          TEXT    NOT NULL PRIMARY KEY,
    channel_id                  TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    url                         TEXT    NOT NULL,
    key_ciphertext              BLOB    NOT NULL,
    key_hint                    TEXT    NOT NULL,
    enabled                     INTEGER NOT NULL DEFAULT 1,
    allow_untrusted_certificate INTEGER NOT NULL DEFAULT 0,
    created_at                  TEXT    NOT NULL,
    updated_at                  TEXT    NOT NULL
);
CREATE INDEX ix_restream_destinations_channel ON restream_destinations (channel_id, created_at);

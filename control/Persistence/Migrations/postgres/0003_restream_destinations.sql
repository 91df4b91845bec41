-- Restream destinations: where a live channel is pushed (rtmp:// or rtmps://). The destination's stream key is
-- a secret of another platform: stored only as AES-GCM ciphertext under the server secret (associated data
-- "destination:{id}"), with its last characters in key_hint for display.
CREATE TABLE restream_destinations (
    id                          text        NOT NULL PRIMARY KEY,
    channel_id                  text        NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    url                         text        NOT NULL,
    key_ciphertext              bytea       NOT NULL,
    key_hint                    text        NOT NULL,
    enabled                     boolean     NOT NULL DEFAULT true,
    allow_untrusted_certificate boolean     NOT NULL DEFAULT false,
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL
);
CREATE INDEX ix_restream_destinations_channel ON restream_destinations (channel_id, created_at);

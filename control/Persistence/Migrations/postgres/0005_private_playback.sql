-- Private playback: channels whose viewers need a signed token, and the keys that sign those tokens.
-- A channel is private while it has a row here (a separate table keeps the channels row shape unchanged).
CREATE TABLE private_playback_channels (
    channel_id text        NOT NULL PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    since      timestamptz NOT NULL
);

-- Token signing keys, newest first is the current one; the one before it still verifies. Rotation inserts a
-- key and deletes all but the two newest. The secret is AES-GCM ciphertext under the server secret (Secrets:Key).
CREATE TABLE playback_signing_keys (
    id                text        NOT NULL PRIMARY KEY,
    secret_ciphertext bytea       NOT NULL,
    created_at        timestamptz NOT NULL
);

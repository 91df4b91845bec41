-- Channels and their stream keys. The key itself is never stored: key_hash (SHA-256 of the key's
-- UTF-8 bytes) is the lookup index, key_ciphertext (AES-GCM under the server secret) lets an admin
-- reveal it later.
CREATE TABLE channels (
    id               text        NOT NULL PRIMARY KEY,
    name             text        NOT NULL,
    slug             text        NOT NULL,
    key_hash         bytea       NOT NULL,
    key_ciphertext   bytea       NOT NULL,
    require_schedule boolean     NOT NULL DEFAULT false,
    low_latency      boolean     NOT NULL DEFAULT false,
    revoked          boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_channels_slug ON channels (slug);
CREATE UNIQUE INDEX ux_channels_key_hash ON channels (key_hash);

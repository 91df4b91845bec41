-- Channels and their stream keys. The key itself is never stored: key_hash (SHA-256 of the key's
-- UTF-8 bytes) is the lookup index, key_ciphertext (AES-GCM under the server secret) lets an admin
-- reveal it later.
CREATE TABLE channels (
    id               TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    slug             TEXT    NOT NULL,
    key_hash         BLOB    NOT NULL,
    key_ciphertext   BLOB    NOT NULL,
    require_schedule INTEGER NOT NULL DEFAULT 0,
    low_latency      INTEGER NOT NULL DEFAULT 0,
    revoked          INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL
);
CREATE UNIQUE INDEX ux_channels_slug ON channels (slug);
CREATE UNIQUE INDEX ux_channels_key_hash ON channels (key_hash);

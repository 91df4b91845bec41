-- Protected content (#69): a channel's Common Encryption scheme ('none', 'cenc' or 'cbcs'; docs/protection.md), taken by
-- each broadcast at its start, and the built-in ClearKey provider's content keys, one per broadcast. A key is stored
-- encrypted under the server secret (AES-GCM, as stream keys are; its KID and channel id are the associated data), so
-- any node with the database answers the license endpoint after a restart. The KID (32 lower-case hex digits) is not
-- secret: it is named in the manifests.
ALTER TABLE channels ADD COLUMN protection text NOT NULL DEFAULT 'none';

CREATE TABLE content_keys (
    kid            text        NOT NULL PRIMARY KEY,
    channel_id     text        NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    key_ciphertext bytea       NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX content_keys_channel ON content_keys (channel_id);

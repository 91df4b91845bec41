-- Scoped API keys: what a platform's backend holds instead of the admin token. Only the SHA-256 of each key's secret
-- is stored (the secret is shown once, at creation). scopes and channel_ids are space-separated lists; an empty
-- channel_ids means every channel.
CREATE TABLE api_keys (
    id           text        NOT NULL PRIMARY KEY,
    name         text        NOT NULL,
    secret_hash  bytea       NOT NULL,
    scopes       text        NOT NULL,
    channel_ids  text        NOT NULL DEFAULT '',
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NULL
);

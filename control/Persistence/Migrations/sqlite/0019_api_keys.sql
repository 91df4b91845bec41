-- Scoped API keys: what a platform's backend holds instead of the admin token. Only the SHA-256 of each key's secret
-- is stored (the secret is shown once, at creation). scopes and channel_ids are space-separated lists; an empty
-- channel_ids means every channel. Times are TEXT as Microsoft.Data.Sqlite writes DateTimeOffset, all UTC.
CREATE TABLE api_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    scopes       TEXT NOT NULL,
    channel_ids  TEXT NOT NULL DEFAULT '',
    expires_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT NULL
);

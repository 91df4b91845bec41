-- Content-key rotation (docs/protection.md): how many segments one content key of a protected broadcast covers before the
-- next key takes over, announced in the manifests ahead of its use. 0, the default for every channel already here, keeps
-- one key for the whole broadcast; the API and the dashboard accept 0 to 1000. Taken by each broadcast at its start, as
-- the protection scheme is, and kept while the scheme is 'none'.
ALTER TABLE channels ADD COLUMN key_rotation_segments INTEGER NOT NULL DEFAULT 0;

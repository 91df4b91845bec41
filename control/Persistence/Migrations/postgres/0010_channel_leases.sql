-- One ingest node holds a channel at a time: the node that accepted its publish renews the lease while the broadcast
-- lives (reconnect grace included); another node refuses the key until the lease lapses, so two nodes never write the
-- same channel's playlists.
CREATE TABLE channel_leases (
    channel_id TEXT NOT NULL PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    node_id    TEXT NOT NULL,
    expires_at timestamptz NOT NULL
);

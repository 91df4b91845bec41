-- A viewer seen by two playback nodes in one bucket counts once in that bucket's concurrent viewers (#70): each viewer
-- remembers the node whose sample counted it in its latest bucket (the first node to write that bucket), and a node
-- writing the same viewer in the same bucket later leaves it out of its own row. The index finds a bucket's viewers.
ALTER TABLE audience_sessions ADD COLUMN last_node text NOT NULL DEFAULT '';
CREATE INDEX audience_sessions_bucket ON audience_sessions (channel_id, broadcast_id, last_seen);

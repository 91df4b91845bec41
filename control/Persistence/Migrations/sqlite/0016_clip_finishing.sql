-- What finishing a clip in the background needs and leaves: the range asked for (the row's starts_at/ends_at are
-- segment-accurate until the ends are cut), when the finisher was done with it (NULL: a node restarted before it was,
-- so the next start finishes it), and its MP4 download's size once stored in the clip's folder (NULL until then, or
-- when making it failed).
ALTER TABLE clips ADD COLUMN asked_from TEXT;
ALTER TABLE clips ADD COLUMN asked_to TEXT;
ALTER TABLE clips ADD COLUMN finished_at TEXT;
ALTER TABLE clips ADD COLUMN download_bytes INTEGER;
CREATE INDEX ix_clips_unfinished ON clips (created_at) WHERE finished_at IS NULL;

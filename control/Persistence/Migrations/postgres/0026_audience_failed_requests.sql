-- The media requests the origins failed, per broadcast, node and 10 s bucket beside its viewers (control/API.md
-- "Audience"): not_found counts 404s (a media playlist, MPD, segment or part not there), unavailable 503s (the store
-- unreadable, or an LL-HLS blocking reload that timed out). Only channels the node served count, so invented names add
-- nothing. Rows written before read as no failures.
ALTER TABLE audience_samples ADD COLUMN not_found bigint NOT NULL DEFAULT 0;
ALTER TABLE audience_samples ADD COLUMN unavailable bigint NOT NULL DEFAULT 0;

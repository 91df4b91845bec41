-- A channel's rewind window: how far back a viewer may go in the live broadcast (start-over and rewind), in seconds.
-- NULL follows the server's Packager:DvrSeconds; 0 keeps only the live window.
ALTER TABLE channels ADD COLUMN rewind_seconds INTEGER;

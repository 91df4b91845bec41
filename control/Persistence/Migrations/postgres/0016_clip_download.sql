-- A clip's MP4 download, made in the background after the clip: its size in bytes once it is stored in the clip's
-- folder; NULL until then (or when making it failed).
ALTER TABLE clips ADD COLUMN download_bytes bigint;

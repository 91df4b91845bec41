-- Pull sources check the certificate of rtmps:// and https:// sources; this per-source switch accepts one that does not
-- validate (a self-signed test server), like a restream destination's.
ALTER TABLE channel_pull_sources ADD COLUMN allow_untrusted_certificate boolean NOT NULL DEFAULT false;
ALTER TABLE event_pull_sources ADD COLUMN allow_untrusted_certificate boolean NOT NULL DEFAULT false;

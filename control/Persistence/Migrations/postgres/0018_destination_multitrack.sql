-- A restream destination that takes Enhanced RTMP v2 multitrack gets every track the encoder sent (its video rungs and
-- its alternate audio) beside the default ones; any other gets the default video and audio only, as a plain RTMP server.
ALTER TABLE restream_destinations ADD COLUMN multitrack boolean NOT NULL DEFAULT false;

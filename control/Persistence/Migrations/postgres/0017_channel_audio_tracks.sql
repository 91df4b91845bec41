-- How a channel names the encoder's audio tracks that carry no language tag: one entry per track in the order the
-- encoder sends them, "eng", "fra:3" (an ISO 639-2 code, then the audio purpose when not the main sound) or "-" (left
-- untagged), joined by commas. NULL names none.
ALTER TABLE channels ADD COLUMN audio_tracks text;

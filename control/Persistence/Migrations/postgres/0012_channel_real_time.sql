-- Real-time channels: the watch page plays them over WebRTC (WHEP) first, with LL-HLS as the fallback and the overflow.
ALTER TABLE channels ADD COLUMN real_time boolean NOT NULL DEFAULT false;

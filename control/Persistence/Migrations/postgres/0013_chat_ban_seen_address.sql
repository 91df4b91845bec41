-- The banned viewer's address (its salted hash, IPv6 by the /64) for every ban and time-out, not only those "by address":
-- a viewer id minted a moment ago from that address waits Chat:FreshViewerWaitMinutes before it may post there.
ALTER TABLE chat_bans ADD COLUMN seen_address_hash text;

-- The audience split by rung (control/API.md "Audience"): one playback node's viewers of a broadcast's 10 s bucket per
-- rung, the rendition each viewer's latest media request named on the origin (a viewer another node counted in the
-- bucket left out, as for the delivery), written with that node's audience_samples row and purged with it after
-- Analytics:RetentionDays. Bounded: an origin keeps at most 16 rung names per channel and reports the rest as 'other',
-- and the node post refuses more, so a bucket has at most 17 rows per node. Buckets written before read as no split.
CREATE TABLE audience_rungs (
    broadcast_id text NOT NULL,
    bucket_start bigint NOT NULL,
    node_id      text NOT NULL,
    channel_id   text NOT NULL,
    rung         text NOT NULL,
    viewers      bigint NOT NULL,
    PRIMARY KEY (channel_id, broadcast_id, bucket_start, node_id, rung)
);
CREATE INDEX audience_rungs_bucket ON audience_rungs (bucket_start);

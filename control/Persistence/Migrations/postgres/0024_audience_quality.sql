-- The playback quality kept per broadcast beside its audience (#70; control/API.md "Audience"): what the players that send
-- CMCD (CTA-5004) said, one row per 10 s bucket and playback node, written with that node's audience_samples row and purged
-- with it after Analytics:RetentionDays. Only counts and sums, so a bucket's rows and a broadcast's buckets add up (means
-- are a sum over its count; the startup median is read from the fixed bins: at most 500, 1000, 2000, 4000, 8000 ms, then
-- slower). No raw CMCD value, session id or address is stored.
CREATE TABLE audience_quality (
    broadcast_id       text NOT NULL,
    bucket_start       bigint NOT NULL,
    node_id            text NOT NULL,
    channel_id         text NOT NULL,
    sessions           bigint NOT NULL,
    stalled_sessions   bigint NOT NULL,
    stalls             bigint NOT NULL,
    startups           bigint NOT NULL,
    startup_ms_sum     bigint NOT NULL,
    startup_le_500     bigint NOT NULL,
    startup_le_1000    bigint NOT NULL,
    startup_le_2000    bigint NOT NULL,
    startup_le_4000    bigint NOT NULL,
    startup_le_8000    bigint NOT NULL,
    startup_over_8000  bigint NOT NULL,
    bitrate_samples    bigint NOT NULL,
    bitrate_kbps_sum   bigint NOT NULL,
    throughput_samples bigint NOT NULL,
    throughput_kbps_sum bigint NOT NULL,
    rung_switches      bigint NOT NULL,
    malformed          bigint NOT NULL,
    refused            bigint NOT NULL,
    PRIMARY KEY (channel_id, broadcast_id, bucket_start, node_id)
);
CREATE INDEX audience_quality_bucket ON audience_quality (bucket_start);

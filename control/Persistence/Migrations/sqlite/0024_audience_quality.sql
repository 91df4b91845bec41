-- The playback quality kept per broadcast beside its audience (#70; control/API.md "Audience"): what the players that send
-- CMCD (CTA-5004) said, one row per 10 s bucket and playback node, written with that node's audience_samples row and purged
-- with it after Analytics:RetentionDays. Only counts and sums, so a bucket's rows and a broadcast's buckets add up (means
-- are a sum over its count; the startup median is read from the fixed bins: at most 500, 1000, 2000, 4000, 8000 ms, then
-- slower). No raw CMCD value, session id or address is stored.
CREATE TABLE audience_quality (
    broadcast_id       TEXT NOT NULL,
    bucket_start       INTEGER NOT NULL,
    node_id            TEXT NOT NULL,
    channel_id         TEXT NOT NULL,
    sessions           INTEGER NOT NULL,
    stalled_sessions   INTEGER NOT NULL,
    stalls             INTEGER NOT NULL,
    startups           INTEGER NOT NULL,
    startup_ms_sum     INTEGER NOT NULL,
    startup_le_500     INTEGER NOT NULL,
    startup_le_1000    INTEGER NOT NULL,
    startup_le_2000    INTEGER NOT NULL,
    startup_le_4000    INTEGER NOT NULL,
    startup_le_8000    INTEGER NOT NULL,
    startup_over_8000  INTEGER NOT NULL,
    bitrate_samples    INTEGER NOT NULL,
    bitrate_kbps_sum   INTEGER NOT NULL,
    throughput_samples INTEGER NOT NULL,
    throughput_kbps_sum INTEGER NOT NULL,
    rung_switches      INTEGER NOT NULL,
    malformed          INTEGER NOT NULL,
    refused            INTEGER NOT NULL,
    PRIMARY KEY (channel_id, broadcast_id, bucket_start, node_id)
);
CREATE INDEX audience_quality_bucket ON audience_quality (bucket_start);

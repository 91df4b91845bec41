-- Webhooks out (#68): the platform's endpoints, the outbox of events and one delivery per (event, endpoint) with its
-- attempts. An endpoint's signing secret is stored encrypted under the server secret (AES-GCM, as stream keys are),
-- never in clear: it is shown once, at creation or rotation. event_types is a space-separated list; empty means every
-- type. A delivery's order_key is its event's channel id ('' for none): deliveries of one endpoint and order key go out
-- in event id order. Times are TEXT as Microsoft.Data.Sqlite writes DateTimeOffset, all UTC.
CREATE TABLE webhook_endpoints (
    id                TEXT    NOT NULL PRIMARY KEY,
    url               TEXT    NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    event_types       TEXT    NOT NULL DEFAULT '',
    enabled           INTEGER NOT NULL DEFAULT 1,
    secret_ciphertext BLOB    NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    failing_since     TEXT    NULL,
    disabled_reason   TEXT    NULL
);

CREATE TABLE webhook_events (
    id         TEXT NOT NULL PRIMARY KEY,
    type       TEXT NOT NULL,
    channel_id TEXT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    event_id        TEXT    NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    order_key       TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    claimed_until   TEXT    NULL,
    claim_id        TEXT    NULL,
    last_status     INTEGER NULL,
    last_error      TEXT    NULL,
    created_at      TEXT    NOT NULL,
    finished_at     TEXT    NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, order_key, state, event_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at);

CREATE TABLE webhook_attempts (
    id           TEXT    NOT NULL PRIMARY KEY,
    delivery_id  TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at TEXT    NOT NULL,
    status_code  INTEGER NULL,
    error        TEXT    NULL,
    latency_ms   INTEGER NOT NULL,
    answer_head  TEXT    NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);

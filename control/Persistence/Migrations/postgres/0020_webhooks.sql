-- Webhooks out (#68): the platform's endpoints, the outbox of events and one delivery per (event, endpoint) with its
-- attempts. An endpoint's signing secret is stored encrypted under the server secret (AES-GCM, as stream keys are),
-- never in clear: it is shown once, at creation or rotation. event_types is a space-separated list; empty means every
-- type. A delivery's order_key is its event's channel id ('' for none): deliveries of one endpoint and order key go out
-- in event id order. Workers claim due deliveries with FOR UPDATE SKIP LOCKED and a lease (claimed_until).
CREATE TABLE webhook_endpoints (
    id                text        NOT NULL PRIMARY KEY,
    url               text        NOT NULL,
    description       text        NOT NULL DEFAULT '',
    event_types       text        NOT NULL DEFAULT '',
    enabled           boolean     NOT NULL DEFAULT true,
    secret_ciphertext bytea       NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    failing_since     timestamptz NULL,
    disabled_reason   text        NULL
);

CREATE TABLE webhook_events (
    id         text        NOT NULL PRIMARY KEY,
    type       text        NOT NULL,
    channel_id text        NULL,
    payload    text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id              text        NOT NULL PRIMARY KEY,
    event_id        text        NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id     text        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    order_key       text        NOT NULL,
    state           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    claimed_until   timestamptz NULL,
    claim_id        text        NULL,
    last_status     integer     NULL,
    last_error      text        NULL,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, order_key, state, event_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at);

CREATE TABLE webhook_attempts (
    id           text        NOT NULL PRIMARY KEY,
    delivery_id  text        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL,
    status_code  integer     NULL,
    error        text        NULL,
    latency_ms   integer     NOT NULL,
    answer_head  text        NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);

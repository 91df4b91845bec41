-- Live chat: per-channel settings, messages (kept with the broadcast for replay) and bans.
-- A channel without a chat_settings row has the defaults (open, no slow mode, links as text, no blocked words).
CREATE TABLE chat_settings (
    channel_id        TEXT    NOT NULL PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    mode              TEXT    NOT NULL CHECK (mode IN ('open', 'hold', 'off')),
    slow_mode_seconds INTEGER NOT NULL,
    links             TEXT    NOT NULL CHECK (links IN ('text', 'clickable', 'block')),
    blocked_words     TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);

-- state: visible (shown to viewers since shown_at), held (waiting for a moderator), deleted.
-- viewer_id and address_hash stay server-side: viewers see the author tag only.
CREATE TABLE chat_messages (
    id           TEXT NOT NULL PRIMARY KEY,
    channel_id   TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    viewer_id    TEXT NOT NULL,
    address_hash TEXT NOT NULL,
    author       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    body         TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('visible', 'held', 'deleted')),
    moderator    INTEGER NOT NULL DEFAULT 0,
    sent_at      TEXT NOT NULL,
    shown_at     TEXT NULL
);
CREATE INDEX ix_chat_messages_channel_shown ON chat_messages (channel_id, shown_at);
CREATE INDEX ix_chat_messages_channel_state ON chat_messages (channel_id, state, sent_at);

-- A ban (expires_at NULL) or a time-out (expires_at set) of one viewer id, and of its address when address_hash is set.
CREATE TABLE chat_bans (
    id           TEXT NOT NULL PRIMARY KEY,
    channel_id   TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    viewer_id    TEXT NOT NULL,
    address_hash TEXT NULL,
    author       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    reason       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NULL
);
CREATE INDEX ix_chat_bans_channel ON chat_bans (channel_id, created_at);

-- Questions (Q&A): state held (waiting for a moderator, in hold mode), open, answering (the one the host is on),
-- answered, dismissed. votes counts the rows of chat_question_votes (one per viewer id).
CREATE TABLE chat_questions (
    id           TEXT    NOT NULL PRIMARY KEY,
    channel_id   TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    viewer_id    TEXT    NOT NULL,
    address_hash TEXT    NOT NULL,
    author       TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('held', 'open', 'answering', 'answered', 'dismissed')),
    votes        INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT    NOT NULL
);
CREATE INDEX ix_chat_questions_channel_state ON chat_questions (channel_id, state);

CREATE TABLE chat_question_votes (
    question_id TEXT NOT NULL REFERENCES chat_questions (id) ON DELETE CASCADE,
    viewer_id   TEXT NOT NULL,
    PRIMARY KEY (question_id, viewer_id)
);

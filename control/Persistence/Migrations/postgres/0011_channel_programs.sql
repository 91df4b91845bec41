-- Programs: a channel whose input is a composition of other channels and images. One row per program channel holds
-- what the admin last set (inputs, layout, audio mix, transition) as the API's JSON document, so a program resumes
-- after a restart exactly as it was left. Deleting the channel deletes its program.
CREATE TABLE channel_programs (
    channel_id text        NOT NULL PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    document   text        NOT NULL,
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL
);

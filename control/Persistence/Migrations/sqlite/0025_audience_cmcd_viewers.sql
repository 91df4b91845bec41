-- Each viewer of a broadcast remembers whether it ever sent CMCD (CTA-5004) and whether it ever reported a buffer
-- starvation ('bs', §3.3), so the report counts unique CMCD viewers over the show and the share that stalled at least
-- once (control/API.md "Audience"): every node's bucket ORs its flags into the viewer's row. Rows written before read as
-- a viewer without CMCD.
ALTER TABLE audience_sessions ADD COLUMN cmcd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audience_sessions ADD COLUMN stalled INTEGER NOT NULL DEFAULT 0;

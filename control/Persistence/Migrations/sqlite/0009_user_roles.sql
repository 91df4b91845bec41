-- Accounts get a role: 'admin' (everything, as before) or 'moderator' (chat moderation only: the moderation page and the
-- watch page's moderation tools; no admin API, no dashboard page beyond their account).
ALTER TABLE admin_users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'moderator'));

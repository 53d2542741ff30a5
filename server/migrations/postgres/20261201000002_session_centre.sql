-- The session centre: where each session was started from (IP and user agent at login) and
-- last refreshed from. Existing sessions get empty strings: they were never recorded.
ALTER TABLE sessions ADD COLUMN login_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN login_user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_user_agent TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_user_created ON sessions (user_id, created_at);

-- When the session last answered a late replay: a parent refresh token presented again after
-- the grace window while its successor was still unused (a lost response). At most one such
-- answer per session per refresh lifetime. NULL for every existing session: none has used it.
ALTER TABLE sessions ADD COLUMN late_replay_at BIGINT;

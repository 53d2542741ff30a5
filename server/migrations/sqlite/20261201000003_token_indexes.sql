-- Refresh tokens keep three indexes: the primary key (every look-up is by `jti`), `session_id`
-- (a family's revocation) and `expires_at` (the sweeper). The unique indexes on `fingerprint`
-- and `successor_jti` serve no query: a token is found by its `jti`, and one successor per token
-- is the compare-and-set's (`used_at IS NULL` in the rotation's update, RFC 9700 §4.14.2), which
-- the race and group tests prove. Each cost every rotation two index writes under SQLite's one
-- writer lock.
--
-- SQLite drops a UNIQUE column constraint only by rebuilding the table
-- (https://www.sqlite.org/lang_altertable.html#otheralter). The rebuilt table is WITHOUT ROWID:
-- its rows are stored in the `jti` key's own B-tree, so a look-up or an insert walks one tree
-- fewer. Every row is copied, so every session goes on. No table references refresh_tokens, so
-- dropping the old one cascades nowhere.
CREATE TABLE refresh_tokens_new (
    jti           TEXT   PRIMARY KEY NOT NULL,
    session_id    TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id       TEXT   NOT NULL,
    fingerprint   BLOB   NOT NULL,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    revoked_at    BIGINT,
    successor_jti TEXT
) WITHOUT ROWID;
INSERT INTO refresh_tokens_new
    (jti, session_id, user_id, fingerprint, issued_at, expires_at, used_at, revoked_at,
     successor_jti)
SELECT jti, session_id, user_id, fingerprint, issued_at, expires_at, used_at, revoked_at,
       successor_jti
FROM refresh_tokens;
DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_new RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- Refresh tokens keep three indexes: the primary key (every look-up is by `jti`), `session_id`
-- (a family's revocation) and `expires_at` (the sweeper). The unique indexes on `fingerprint`
-- and `successor_jti` serve no query: a token is found by its `jti`, and one successor per token
-- is the compare-and-set's (`used_at IS NULL` in the rotation's update, RFC 9700 §4.14.2), which
-- the race and group tests prove. Each cost every rotation two index writes, and because
-- `successor_jti` was indexed no rotation's update could be a heap-only tuple (HOT) update, so
-- it also wrote a new entry in every other index. With them gone, and 10% of each new page
-- left free for it, the update of a recent token stays on its page and touches no index.
ALTER TABLE refresh_tokens DROP CONSTRAINT IF EXISTS refresh_tokens_fingerprint_key;
ALTER TABLE refresh_tokens DROP CONSTRAINT IF EXISTS refresh_tokens_successor_jti_key;
ALTER TABLE refresh_tokens SET (fillfactor = 90);

-- Users, sessions (token families) and refresh tokens, stored as SHA-256 fingerprints only.
-- Times are Unix seconds (BIGINT), so the same queries run on SQLite and PostgreSQL.

CREATE TABLE users (
    id            TEXT    PRIMARY KEY NOT NULL,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- One row per login: a token family (RFC 9700 §4.14.2).
CREATE TABLE sessions (
    id             TEXT   PRIMARY KEY NOT NULL,
    user_id        TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    jti           TEXT   PRIMARY KEY NOT NULL,
    session_id    TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id       TEXT   NOT NULL,
    fingerprint   BLOB   NOT NULL UNIQUE,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    revoked_at    BIGINT,
    successor_jti TEXT   UNIQUE
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- 0001: the gateway's own database. Never edit once merged: add a new
-- numbered file instead. Times are RFC 3339 UTC text.

-- Key/value facts about this gateway: bootstrap and demo markers.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- People who sign in with a password. username is the token subject.
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    org      TEXT    NOT NULL,           -- unified social credit code
    msp      TEXT    NOT NULL,           -- the org's ledger member
    role     TEXT    NOT NULL,
    hash     TEXT    NOT NULL,           -- argon2id PHC string
    disabled INTEGER NOT NULL DEFAULT 0,
    created  TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX users_org ON users (org);

-- Machine clients. The key itself is shown once; only its SHA-256 is kept.
CREATE TABLE api_keys (
    id      TEXT PRIMARY KEY,
    hash    BLOB    NOT NULL UNIQUE,
    name    TEXT    NOT NULL,
    org     TEXT    NOT NULL,
    msp     TEXT    NOT NULL,
    role    TEXT    NOT NULL,
    created TEXT    NOT NULL,
    revoked TEXT
) WITHOUT ROWID;
CREATE INDEX api_keys_org ON api_keys (org);

-- Refresh tokens, hashed; rotated on use. A used token presented again
-- revokes its whole family (a stolen token was used).
CREATE TABLE refresh_tokens (
    hash     BLOB PRIMARY KEY,
    family   TEXT    NOT NULL,
    username TEXT    NOT NULL,
    expires  TEXT    NOT NULL,
    used     INTEGER NOT NULL DEFAULT 0,
    revoked  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX refresh_family ON refresh_tokens (family);

-- Completed writes by (actor, Idempotency-Key): a retry replays them.
CREATE TABLE idempotency (
    actor        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    location     TEXT NOT NULL DEFAULT '',
    body         BLOB NOT NULL,
    created      TEXT NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency (created);

-- One-time sign-by-code codes, bound to manifest, step and organisation;
-- only an HMAC of the code is kept.
CREATE TABLE sign_codes (
    id         INTEGER PRIMARY KEY,
    manifest   TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    org        TEXT    NOT NULL,
    mac        BLOB    NOT NULL,
    expires    TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used       INTEGER NOT NULL DEFAULT 0,
    created    TEXT    NOT NULL,
    created_by TEXT    NOT NULL
);
CREATE INDEX sign_codes_manifest ON sign_codes (manifest, step);

-- Private keys the gateway holds for organisations that sign by code,
-- sealed with AES-256-GCM under the data directory's secret.
CREATE TABLE custodial_keys (
    kid     TEXT PRIMARY KEY,
    org     TEXT NOT NULL,
    sealed  BLOB NOT NULL,
    created TEXT NOT NULL,
    revoked TEXT
) WITHOUT ROWID;
CREATE INDEX custodial_org ON custodial_keys (org);

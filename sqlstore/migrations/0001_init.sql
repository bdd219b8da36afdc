-- The first schema of flexapi's store, for SQLite and PostgreSQL alike: both
-- read BIGINT as a 64-bit integer. Dates are Unix seconds (UTC); secrets are
-- stored only as salted hashes.
CREATE TABLE accounts (
    sid                  TEXT PRIMARY KEY,
    friendly_name        TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT 'active',
    primary_token_hash   TEXT NOT NULL,
    secondary_token_hash TEXT,
    created_date         BIGINT NOT NULL
);

CREATE TABLE api_keys (
    sid           TEXT PRIMARY KEY,
    account_sid   TEXT NOT NULL REFERENCES accounts (sid) ON DELETE CASCADE,
    friendly_name TEXT NOT NULL DEFAULT '',
    secret_hash   TEXT NOT NULL,
    created_date  BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys (account_sid);

CREATE TABLE instances (
    sid          TEXT PRIMARY KEY,
    account_sid  TEXT NOT NULL REFERENCES accounts (sid) ON DELETE CASCADE,
    created_date BIGINT NOT NULL
);
CREATE INDEX instances_account ON instances (account_sid);

-- A FlexUser SID is unique within its instance, so that tests of different
-- accounts may each create the reference page's FUaaaa… user.
CREATE TABLE users (
    instance_sid  TEXT NOT NULL REFERENCES instances (sid) ON DELETE CASCADE,
    flex_user_sid TEXT NOT NULL,
    account_sid   TEXT NOT NULL,
    user_sid      TEXT,
    worker_sid    TEXT,
    workspace_sid TEXT,
    flex_team_sid TEXT,
    username      TEXT,
    email         TEXT,
    locale        TEXT,
    roles         TEXT, -- a JSON array, or NULL when unknown
    created_date  BIGINT NOT NULL,
    updated_date  BIGINT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_sid, flex_user_sid)
);
CREATE INDEX users_email ON users (instance_sid, email);
CREATE INDEX users_username ON users (instance_sid, username);

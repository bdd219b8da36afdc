-- Twilio's Flex user lifecycle: every instance has a TaskRouter workspace and
-- a team named "default"; a user has a full name, worker attributes (a JSON
-- object) and, once deprovisioned, a deactivation date. Existing instances
-- and users get what they lack in Go, after this file (sqlstore.backfill).
ALTER TABLE instances ADD COLUMN workspace_sid TEXT;
ALTER TABLE instances ADD COLUMN default_team_sid TEXT;
ALTER TABLE users ADD COLUMN full_name TEXT;
ALTER TABLE users ADD COLUMN worker_attributes TEXT;
ALTER TABLE users ADD COLUMN deactivated_date BIGINT;

CREATE TABLE teams (
    sid           TEXT PRIMARY KEY,
    instance_sid  TEXT NOT NULL REFERENCES instances (sid) ON DELETE CASCADE,
    account_sid   TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    description   TEXT,
    created_date  BIGINT NOT NULL,
    updated_date  BIGINT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX teams_instance ON teams (instance_sid);
CREATE INDEX users_team ON users (instance_sid, flex_team_sid);

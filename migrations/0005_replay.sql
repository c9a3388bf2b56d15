-- Single use of token ids for the stores that keep them in SQL (node:sqlite; the PostgreSQL adapter has its
-- own schema). Workers keep them in the replay Durable Object instead, so on D1 this table stays empty.
-- IF NOT EXISTS: node:sqlite databases made before the schema had one source already have it.
CREATE TABLE IF NOT EXISTS replay (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_expires_at ON replay (expires_at);

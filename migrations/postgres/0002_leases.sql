-- Upstream credentials the broker must remove itself (PostgreSQL logins); see migrations/0006_leases.sql.
CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX leases_due_at ON leases (due_at);

-- Upstream credentials the broker must remove itself (PostgreSQL logins), so that a restart between the
-- exchange and the expiry still removes them. Never a password or a DSN: only the names removal needs.
CREATE TABLE IF NOT EXISTS leases (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS leases_due_at ON leases (due_at);

-- The sealed newest version of each stored secret (see broker/src/store/envelope.ts and secrets.ts): moved
-- up in the same transaction as each version insert, so that a deleted newest version is detected instead
-- of silently serving the one before it. The same table as the Node entry's fourth migration.
CREATE TABLE secret_heads (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  kek_id TEXT NOT NULL,
  seal TEXT NOT NULL
);

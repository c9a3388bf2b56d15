-- The broker's D1 schema: the same audit and secrets tables as the Node entry (broker/entry/node/sqlite.ts),
-- so records and rows mean the same on both platforms. Replay claims are not here: on Workers they live in
-- the ReplayGuardObject Durable Object, whose single-threaded claim is what makes a jti single use.
-- Applied by `wrangler d1 migrations apply secret-broker` (and by the workers tests). Append new files; never
-- edit an applied migration.

-- The hash-chained audit log: one row per record, seq is the chain position (insert-if-absent on seq).
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  record TEXT NOT NULL
);

-- Envelope-encrypted secret versions (see broker/src/store/envelope.ts): one row per (name, version).
CREATE TABLE secrets (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  kek_id TEXT NOT NULL,
  wrapped_key TEXT NOT NULL,
  iv TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);

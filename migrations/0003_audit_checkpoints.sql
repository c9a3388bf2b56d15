-- Signed checkpoints of the audit chain head (see broker/src/audit/checkpoint.ts), kept apart from the chain
-- so that cutting the chain's tail does not take them along; the same table as the Node entry's.
CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  time TEXT NOT NULL,
  kid TEXT NOT NULL,
  jws TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq, id);

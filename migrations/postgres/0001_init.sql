-- The broker's PostgreSQL schema (broker/entry/node/postgres.ts): the same tables and columns as the SQLite/D1
-- schema in ../*.sql, so rows and audit records mean the same everywhere, in PostgreSQL's dialect. It cannot be
-- the same text: SQLite's INTEGER is 64-bit and PostgreSQL's is 32-bit (epoch seconds, seq need BIGINT),
-- `id INTEGER PRIMARY KEY` auto-numbers only in SQLite (here an identity column), WITHOUT ROWID is SQLite's,
-- PostgreSQL's text cannot hold the NUL that replay keys contain (bytea here), and what only PostgreSQL needs
-- (rate counters shared by replicas, the checkpoint anchor that makes a concurrent second signing of one head
-- a no-op) has no use on one node or on Workers.
-- Applied in order under an advisory lock (one replica migrates, the others wait); schema_version records how
-- many ran. Append new files; never edit an applied one.

-- The hash-chained audit log. `record` is TEXT, never jsonb: the hash covers the exact stored text, and a
-- jsonb round trip reorders keys and rewrites numbers.
CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  record TEXT NOT NULL
);

-- Signed checkpoints of the chain head; `anchor` ("seq:hash" of the signed anchor, from the JWS payload)
-- makes one signing of one head by one key unique, so two replicas due at once store it once.
CREATE TABLE audit_checkpoints (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL,
  time TEXT NOT NULL,
  kid TEXT NOT NULL,
  jws TEXT NOT NULL,
  anchor TEXT NOT NULL,
  UNIQUE (seq, hash, kid, anchor)
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq, id);

CREATE TABLE secrets (
  name TEXT NOT NULL,
  version BIGINT NOT NULL,
  kek_id TEXT NOT NULL,
  wrapped_key TEXT NOT NULL,
  iv TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE secret_heads (
  name TEXT PRIMARY KEY,
  version BIGINT NOT NULL,
  kek_id TEXT NOT NULL,
  seal TEXT NOT NULL
);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  activates_at BIGINT NOT NULL,
  public_jwk TEXT NOT NULL,
  kek_id TEXT NOT NULL,
  wrapped_key TEXT NOT NULL,
  iv TEXT NOT NULL,
  ciphertext TEXT NOT NULL
);

CREATE TABLE revocations (
  request_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  kek_id TEXT NOT NULL,
  wrapped_key TEXT NOT NULL,
  iv TEXT NOT NULL,
  ciphertext TEXT NOT NULL
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- Single use of token ids across every replica: one upsert per claim. The keys (and the rate-limit keys)
-- join issuer and token id with a NUL, which PostgreSQL's text cannot hold: they are stored as their UTF-8 bytes.
CREATE TABLE replay (
  key BYTEA PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX replay_expires_at ON replay (expires_at);

-- Rate-limit windows shared by the replicas: one upsert per hit; windows past their end are purged.
CREATE TABLE rate_counters (
  key BYTEA NOT NULL,
  window_start BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_expires_at ON rate_counters (expires_at);

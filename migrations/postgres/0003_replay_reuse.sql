-- Reuse by design (issuers with `replay: reuse`): the token a jti was claimed by (its SHA-256; NULL for a
-- single-use claim, which is never reused) and how often it was presented.
ALTER TABLE replay ADD COLUMN token_sha256 BYTEA;
ALTER TABLE replay ADD COLUMN uses INTEGER NOT NULL DEFAULT 1;

-- Reuse by design (issuers with `replay: reuse`): the token a jti was claimed by (hex SHA-256; NULL for a
-- single-use claim, which is never reused) and how often it was presented. Empty on D1 as the table itself.
ALTER TABLE replay ADD COLUMN token_sha256 TEXT;
ALTER TABLE replay ADD COLUMN uses INTEGER NOT NULL DEFAULT 1;

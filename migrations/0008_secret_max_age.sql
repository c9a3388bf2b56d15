-- A stored secret's rotation policy (issue 19): the longest its current version may live, in seconds, set by
-- `secret put|rotate --max-age`. NULL: no policy. Kept per version, so a rotation carries it forward; the
-- report, /readyz and `policy check` flag a secret whose newest version is older. Same on D1 and node:sqlite.
ALTER TABLE secrets ADD COLUMN max_age INTEGER;

-- A stored secret's rotation policy in seconds (NULL: none); see migrations/0008_secret_max_age.sql.
ALTER TABLE secrets ADD COLUMN max_age BIGINT;

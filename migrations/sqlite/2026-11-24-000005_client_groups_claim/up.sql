-- Whether this client's tokens carry the user's groups even when the
-- groups scope was not asked for (a per-client policy).
ALTER TABLE clients ADD COLUMN always_groups_claim BOOLEAN NOT NULL DEFAULT 0;

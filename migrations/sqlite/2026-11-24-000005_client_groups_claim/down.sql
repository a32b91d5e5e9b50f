ALTER TABLE clients DROP COLUMN always_groups_claim;

ALTER TABLE clients DROP COLUMN exchange_refresh_tokens;
ALTER TABLE clients DROP COLUMN exchange_impersonation;
ALTER TABLE clients DROP COLUMN exchange_audiences;

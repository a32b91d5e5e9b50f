DROP INDEX roles_name_folded_idx;
ALTER TABLE roles DROP COLUMN client_id_folded;
ALTER TABLE roles DROP COLUMN name_folded;

-- SCIM shows the application roles a user holds in its `roles` attribute
-- (value: the role's name, type: the application's client_id), and filters
-- compare both case-insensitively: through folded copies Sigil writes, as
-- for every other case-insensitive attribute. Roles defined before this
-- migration are folded with lower() once.
ALTER TABLE roles ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE roles ADD COLUMN client_id_folded TEXT NOT NULL DEFAULT '';
UPDATE roles SET name_folded = lower(name), client_id_folded = lower(client_id);
CREATE INDEX roles_name_folded_idx ON roles (name_folded);

-- Whether `active` was given a value. A SCIM PATCH that removes `active`
-- leaves it unassigned (RFC 7644 §3.5.2.2); such a user is not active.
ALTER TABLE users ADD COLUMN active_assigned BOOLEAN NOT NULL DEFAULT 1;

-- A group's members are read in the order they were added, and a new one
-- goes after the last: both follow this index instead of sorting, or
-- scanning, every member row of the group (a group may have tens of
-- thousands).
CREATE INDEX group_members_position_idx ON group_members (group_id, position);

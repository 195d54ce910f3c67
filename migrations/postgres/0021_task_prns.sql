-- The PRN of each resource a task created, beside its href: a version's PRN names the
-- version's own id, which its href does not carry.
ALTER TABLE tasks ADD COLUMN created_resource_prns TEXT;

-- A guard a domain gives the distributions made in it without one (Pulp's default_content_guard).
ALTER TABLE domains ADD COLUMN default_content_guard TEXT;

-- Cheaper projection writes and list queries.
--
-- What the projection last wrote of each manifest's child rows (lines,
-- processing and outputs, units, flags, follow-ups, parties, and how many
-- steps with a chained digest of them), so that a new version rewrites
-- only the groups of rows that changed. Empty: unknown, every child row is
-- rewritten. Derived like every other column: Rebuild refills it.
ALTER TABLE manifests ADD COLUMN digests BLOB NOT NULL DEFAULT x'';

-- "Waiting for": newest first from the index itself, one range per side of
-- the step.
DROP INDEX manifests_next_from;
DROP INDEX manifests_next_to;
CREATE INDEX manifests_next_from ON manifests (next_from, created DESC, id DESC) WHERE next_from <> '';
CREATE INDEX manifests_next_to ON manifests (next_to, created DESC, id DESC) WHERE next_to <> '';

-- An organisation's manifests, newest first: the manifest's creation time
-- beside each party row.
ALTER TABLE parties ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
UPDATE parties SET created = COALESCE((SELECT created FROM manifests WHERE id = parties.manifest_id), 0);
CREATE INDEX parties_org_created ON parties (org, created DESC, manifest_id DESC);

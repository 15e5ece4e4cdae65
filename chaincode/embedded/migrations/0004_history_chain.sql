-- 0004: each key's history is a chain, not an index. Never edit once
-- merged: add a new numbered file instead.
--
-- The history_key index (key, block, tx) put one entry per write at that
-- key's place in key order: a commit rewrote one index page per region of
-- the key space it touched, much like the world state does. The world
-- state already has a row per key at that place; it now leads to the key's
-- newest history row, and every history row to the one before it (prev).
-- History(key) follows the chain.
--
-- So that every chain keeps a head, a deleted key keeps its state row as a
-- tombstone: block 0 and tx 0 (the absent version), hist the delete's
-- history row. Readers of the world state skip rows with block 0.
ALTER TABLE history ADD COLUMN prev INTEGER;
DROP TRIGGER history_no_update;
UPDATE history SET prev = (
    SELECT h.id FROM history h
    WHERE h.key = history.key AND (h.block, h.tx) < (history.block, history.tx)
    ORDER BY h.block DESC, h.tx DESC LIMIT 1);
CREATE TRIGGER history_no_update BEFORE UPDATE ON history BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
INSERT INTO state (key, block, tx, hist)
    SELECT h.key, 0, 0, h.id FROM history h
    WHERE h.deleted = 1 AND NOT EXISTS (
        SELECT 1 FROM history n WHERE n.key = h.key AND (n.block, n.tx) > (h.block, h.tx));
DROP INDEX history_key;

-- 0002: store each written value once. Never edit once merged: add a new
-- numbered file instead.
--
-- Every value a transaction writes is already in its history row, so the
-- world state keeps, per live key, the version and the id of that history
-- row instead of a second copy of the value. The state table becomes small
-- (tens of bytes a key), which is what a commit rewrites at random places.
CREATE TABLE state_v2 (
    key   TEXT    PRIMARY KEY,
    block INTEGER NOT NULL,
    tx    INTEGER NOT NULL,
    hist  INTEGER NOT NULL -- history.id of the write that set the value
) WITHOUT ROWID;
-- A state row whose value is not the one its history row holds would be a
-- divergence that Verify reports; refuse to migrate over it rather than
-- silently keep only one side.
CREATE TRIGGER state_v2_needs_history BEFORE INSERT ON state_v2 WHEN NEW.hist IS NULL
BEGIN SELECT RAISE(ABORT, 'world state row without a matching history row: run verify'); END;
INSERT INTO state_v2 (key, block, tx, hist)
    SELECT s.key, s.block, s.tx,
           (SELECT h.id FROM history h
            WHERE h.key = s.key AND h.block = s.block AND h.tx = s.tx AND h.deleted = 0 AND h.value = s.value)
    FROM state s;
DROP TRIGGER state_v2_needs_history;
DROP TABLE state;
ALTER TABLE state_v2 RENAME TO state;

-- A response equal to a value the same transaction wrote (a contract that
-- returns the document it stored) is not stored twice either: response is
-- NULL and response_hist is the id of the history row that holds it.
ALTER TABLE txs ADD COLUMN response_hist INTEGER;

-- Nor is a written value that an event payload carries verbatim (an event
-- that embeds the document): payload holds the rest, and the value of
-- history row payload_hist goes back in at byte offset payload_at.
ALTER TABLE events ADD COLUMN payload_hist INTEGER;
ALTER TABLE events ADD COLUMN payload_at INTEGER;

-- 0003: Merkle nodes keyed by their post-order position. Never edit once
-- merged: add a new numbered file instead.
--
-- Keyed by (level, idx), every commit appended at the right edge of every
-- level at once: a dozen or more B-tree pages rewritten per commit for a
-- few hundred bytes of hashes. In post-order, the nodes an append completes
-- (the leaf, then its new parents, level by level) always come after every
-- existing node, so the table only ever grows at its end.
--
-- The node of level L and index i covers leaves [i·2^L, (i+1)·2^L); with
-- m = (i+1)·2^L - 1 its last leaf, its position is 2m - popcount(m) + L.
CREATE TABLE merkle_v2 (
    pos  INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
);
WITH n AS (SELECT level, ((idx + 1) << level) - 1 AS m, hash FROM merkle),
     -- popcount(m), SWAR style (m < 2^62)
     a AS (SELECT level, m, hash, m - ((m >> 1) & 0x5555555555555555) AS x FROM n),
     b AS (SELECT level, m, hash, (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333) AS x FROM a),
     c AS (SELECT level, m, hash, (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F AS x FROM b)
INSERT INTO merkle_v2 (pos, hash)
    SELECT 2 * m - ((x & 255) + ((x >> 8) & 255) + ((x >> 16) & 255) + ((x >> 24) & 255)
                    + ((x >> 32) & 255) + ((x >> 40) & 255) + ((x >> 48) & 255) + ((x >> 56) & 255)) + level,
           hash
    FROM c;
DROP TABLE merkle;
ALTER TABLE merkle_v2 RENAME TO merkle;
CREATE TRIGGER merkle_no_update BEFORE UPDATE ON merkle BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END;
CREATE TRIGGER merkle_no_delete BEFORE DELETE ON merkle BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END;

-- 0001: the embedded ledger's first schema. Never edit once merged: add a
-- new numbered file instead.

-- Ledger identity: ledger_id, origin, verifier_key (sumdb note verifier key
-- of the checkpoint signer), created.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per block; genesis is block 0 with no transactions. hash is the
-- SHA-256 of the canonical header (every column but hash and checkpoint).
CREATE TABLE blocks (
    number     INTEGER PRIMARY KEY,
    prev_hash  BLOB    NOT NULL,
    time       TEXT    NOT NULL,
    tx_count   INTEGER NOT NULL,
    first_leaf INTEGER NOT NULL,
    tree_size  INTEGER NOT NULL,
    root       BLOB    NOT NULL,
    hash       BLOB    NOT NULL,
    checkpoint BLOB    NOT NULL
);

-- Valid transactions only. leaf is the transaction's index in the Merkle
-- tree (= its position in the ledger); record is its canonical JSON record,
-- whose RFC 6962 leaf hash is the tree's leaf.
CREATE TABLE txs (
    leaf     INTEGER PRIMARY KEY,
    tx_id    TEXT    NOT NULL,
    block    INTEGER NOT NULL REFERENCES blocks (number),
    idx      INTEGER NOT NULL,
    record   BLOB    NOT NULL,
    response BLOB
);

-- tx id → leaf. Tx ids are random, so indexing each one as it commits
-- would dirty one random index page per transaction; instead the committer
-- adds them in sorted batches (meta txids_indexed is how many leaves, from
-- 0, are in here) and keeps the newest in memory.
CREATE TABLE txids (
    tx_id TEXT    PRIMARY KEY,
    leaf  INTEGER NOT NULL
) WITHOUT ROWID;

-- World state: the latest committed value of every live key, with the
-- version (block, tx index) that wrote it. Mutable.
CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value BLOB    NOT NULL,
    block INTEGER NOT NULL,
    tx    INTEGER NOT NULL
);

-- Every committed write, in commit order (rowid).
CREATE TABLE history (
    id      INTEGER PRIMARY KEY,
    key     TEXT    NOT NULL,
    block   INTEGER NOT NULL REFERENCES blocks (number),
    tx      INTEGER NOT NULL,
    tx_id   TEXT    NOT NULL,
    time    TEXT    NOT NULL,
    value   BLOB,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX history_key ON history (key, block, tx);

-- The event feed; seq is the consumers' cursor.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    block   INTEGER NOT NULL REFERENCES blocks (number),
    tx      INTEGER NOT NULL,
    tx_id   TEXT    NOT NULL,
    time    TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    payload BLOB
);

-- Every completed (perfect) node of the Merkle tree, leaves at level 0.
CREATE TABLE merkle (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- The ledger is append-only.
CREATE TRIGGER blocks_no_update  BEFORE UPDATE ON blocks  BEGIN SELECT RAISE(ABORT, 'blocks are append-only'); END;
CREATE TRIGGER blocks_no_delete  BEFORE DELETE ON blocks  BEGIN SELECT RAISE(ABORT, 'blocks are append-only'); END;
CREATE TRIGGER txs_no_update     BEFORE UPDATE ON txs     BEGIN SELECT RAISE(ABORT, 'txs are append-only'); END;
CREATE TRIGGER txs_no_delete     BEFORE DELETE ON txs     BEGIN SELECT RAISE(ABORT, 'txs are append-only'); END;
CREATE TRIGGER history_no_update BEFORE UPDATE ON history BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER history_no_delete BEFORE DELETE ON history BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER events_no_update  BEFORE UPDATE ON events  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete  BEFORE DELETE ON events  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER merkle_no_update  BEFORE UPDATE ON merkle  BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END;
CREATE TRIGGER merkle_no_delete  BEFORE DELETE ON merkle  BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END;
CREATE TRIGGER txids_no_update   BEFORE UPDATE ON txids   BEGIN SELECT RAISE(ABORT, 'txids are append-only'); END;
CREATE TRIGGER txids_no_delete   BEFORE DELETE ON txids   BEGIN SELECT RAISE(ABORT, 'txids are append-only'); END;

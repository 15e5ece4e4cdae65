-- The off-chain index: a projection of the ledger's events. Every row below
-- the checkpoint is derived from the manifest, organisation, key, permit and
-- snapshot documents that the events carry; Rebuild empties and refills them.
-- Times are Unix nanoseconds (UTC), NULL when the event has not happened.

CREATE TABLE checkpoint (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	block       INTEGER NOT NULL,
	tx          INTEGER NOT NULL,
	events      INTEGER NOT NULL, -- events applied since genesis
	event_time  INTEGER,          -- ledger time of the last event applied
	applied_at  INTEGER           -- wall clock of the last batch
);
INSERT INTO checkpoint (id, block, tx, events) VALUES (1, 0, 0, 0);

CREATE TABLE manifests (
	id              TEXT PRIMARY KEY,
	version         INTEGER NOT NULL,
	hash            TEXT NOT NULL,
	status          TEXT NOT NULL,
	stream          TEXT NOT NULL,
	producer        TEXT NOT NULL,
	receiver        TEXT NOT NULL,
	receiver_permit TEXT NOT NULL,
	legs            TEXT NOT NULL, -- JSON [{carrier, permit}]
	region          TEXT NOT NULL, -- GB/T 2260 of the producer's site
	codes           TEXT NOT NULL, -- JSON array, line order
	declared_g      INTEGER NOT NULL,
	accepted_g      INTEGER NOT NULL,
	n_lines         INTEGER NOT NULL,
	next_step       TEXT NOT NULL,
	next_from       TEXT NOT NULL,
	next_to         TEXT NOT NULL,
	flags           INTEGER NOT NULL,
	method          TEXT NOT NULL,
	approval        TEXT NOT NULL,
	ref_original    TEXT NOT NULL,
	ref_kind        TEXT NOT NULL,
	paper_number    TEXT NOT NULL,
	paper_completed TEXT NOT NULL,
	created         INTEGER NOT NULL, -- ledger time of creation
	updated         INTEGER NOT NULL, -- ledger time of the last version
	-- milestones: the parties' statement time (…_at) and the ledger's
	-- commit time (…_tx) of the step that reached them
	signed_at INTEGER, signed_tx INTEGER,
	picked_at INTEGER, picked_tx INTEGER,
	delivered_at INTEGER, delivered_tx INTEGER,
	received_at INTEGER, received_tx INTEGER,
	closed_at INTEGER, closed_tx INTEGER,
	cancelled_at INTEGER, cancelled_tx INTEGER,
	first_at        INTEGER NOT NULL, -- earliest time any figure may use
	last_at         INTEGER NOT NULL, -- latest
	tx_id           TEXT NOT NULL,    -- the transaction of this version
	block           INTEGER NOT NULL,
	tx              INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX manifests_created ON manifests (created DESC, id DESC);
CREATE INDEX manifests_region ON manifests (region, first_at, last_at);
CREATE INDEX manifests_status ON manifests (status, created DESC);
CREATE INDEX manifests_next_from ON manifests (next_from) WHERE next_from <> '';
CREATE INDEX manifests_next_to ON manifests (next_to) WHERE next_to <> '';

CREATE TABLE lines (
	manifest_id TEXT NOT NULL,
	line        INTEGER NOT NULL,
	code        TEXT NOT NULL,
	name        TEXT NOT NULL,
	qty         INTEGER NOT NULL,
	unit        TEXT NOT NULL,
	declared_g  INTEGER NOT NULL,
	packages    INTEGER NOT NULL,
	medical     TEXT NOT NULL,
	generated   INTEGER,
	origin_line INTEGER NOT NULL,
	received    INTEGER NOT NULL, -- 1 once the receiver recorded the line
	weighed_g   INTEGER NOT NULL,
	accepted_g  INTEGER NOT NULL,
	refused_g   INTEGER NOT NULL,
	decision    TEXT NOT NULL,
	PRIMARY KEY (manifest_id, line)
) WITHOUT ROWID;
CREATE INDEX lines_code ON lines (code);

CREATE TABLE processing (
	manifest_id TEXT NOT NULL,
	line        INTEGER NOT NULL,
	method      TEXT NOT NULL,
	qty_g       INTEGER NOT NULL,
	at          INTEGER NOT NULL, -- statement time
	committed   INTEGER NOT NULL, -- ledger time of the process step
	PRIMARY KEY (manifest_id, line)
) WITHOUT ROWID;

CREATE TABLE outputs (
	manifest_id TEXT NOT NULL,
	line        INTEGER NOT NULL,
	seq         INTEGER NOT NULL,
	material    TEXT NOT NULL,
	qty_g       INTEGER NOT NULL,
	PRIMARY KEY (manifest_id, line, seq)
) WITHOUT ROWID;

CREATE TABLE units (
	unit         TEXT NOT NULL, -- GB/T 34014 code
	manifest_id  TEXT NOT NULL,
	line         INTEGER NOT NULL,
	chemistry    TEXT NOT NULL,
	product_type TEXT NOT NULL,
	PRIMARY KEY (unit, manifest_id)
) WITHOUT ROWID;
CREATE INDEX units_manifest ON units (manifest_id);

CREATE TABLE steps (
	manifest_id TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	step        TEXT NOT NULL,
	tx_id       TEXT NOT NULL,
	committed   INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	from_org    TEXT NOT NULL,
	to_org      TEXT NOT NULL,
	vehicle     TEXT NOT NULL,
	digest      TEXT NOT NULL,
	signers     TEXT NOT NULL, -- JSON [{org, kid, signed_by}]
	PRIMARY KEY (manifest_id, seq)
) WITHOUT ROWID;

CREATE TABLE flags (
	manifest_id TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	rule        TEXT NOT NULL,
	line        INTEGER NOT NULL,
	detail      TEXT NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (manifest_id, seq)
) WITHOUT ROWID;

CREATE TABLE followups (
	manifest_id TEXT NOT NULL, -- the original
	followup    TEXT NOT NULL, -- the return or onward manifest
	kind        TEXT NOT NULL,
	line        INTEGER NOT NULL, -- original line
	grams       INTEGER NOT NULL,
	PRIMARY KEY (manifest_id, followup, line)
) WITHOUT ROWID;

CREATE TABLE parties (
	org         TEXT NOT NULL,
	manifest_id TEXT NOT NULL,
	role        TEXT NOT NULL, -- producer, carrier, receiver
	PRIMARY KEY (org, manifest_id, role)
) WITHOUT ROWID;
CREATE INDEX parties_manifest ON parties (manifest_id);

-- Every manifest version the index saw, in ledger order: the evidence the
-- ledger/index check falls back on when summary rows are missing.
CREATE TABLE versions (
	manifest_id TEXT NOT NULL,
	version     INTEGER NOT NULL,
	hash        TEXT NOT NULL,
	tx_id       TEXT NOT NULL,
	block       INTEGER NOT NULL,
	tx          INTEGER NOT NULL,
	time        INTEGER NOT NULL,
	event       TEXT NOT NULL,
	PRIMARY KEY (manifest_id, version)
) WITHOUT ROWID;

CREATE TABLE orgs (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	region     TEXT NOT NULL,
	roles      TEXT NOT NULL, -- JSON
	msp        TEXT NOT NULL,
	registered INTEGER NOT NULL,
	doc        TEXT NOT NULL
);

CREATE TABLE keys (
	kid        TEXT PRIMARY KEY,
	org        TEXT NOT NULL,
	kind       TEXT NOT NULL,
	registered INTEGER NOT NULL,
	revoked    INTEGER,
	doc        TEXT NOT NULL
);
CREATE INDEX keys_org ON keys (org);

CREATE TABLE permits (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	org        TEXT NOT NULL,
	valid_from TEXT NOT NULL,
	valid_to   TEXT NOT NULL,
	capacity_t INTEGER NOT NULL,
	revoked    INTEGER,
	doc        TEXT NOT NULL
);
CREATE INDEX permits_org ON permits (org);

CREATE TABLE config (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	doc TEXT NOT NULL
);

CREATE TABLE snapshots (
	id     TEXT PRIMARY KEY,
	org    TEXT NOT NULL,
	region TEXT NOT NULL,
	period TEXT NOT NULL,
	digest TEXT NOT NULL,
	tx_id  TEXT NOT NULL,
	time   INTEGER NOT NULL,
	doc    TEXT NOT NULL -- the chaincode.Published document
);
CREATE INDEX snapshots_region ON snapshots (region, period, time);

-- Findings of reconciliation. Not a projection: Rebuild keeps them, with
-- their acknowledgements.
CREATE TABLE anomalies (
	id              INTEGER PRIMARY KEY,
	key             TEXT NOT NULL UNIQUE, -- rule + subject: one row per finding
	rule            TEXT NOT NULL,
	severity        TEXT NOT NULL,
	detail          TEXT NOT NULL,
	manifests       TEXT NOT NULL, -- JSON array
	detected_at     INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL,
	resolved_at     INTEGER,
	acknowledged_by TEXT NOT NULL DEFAULT '',
	acknowledged_at INTEGER,
	ack_note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX anomalies_detected ON anomalies (detected_at DESC, id DESC);
CREATE TABLE anomaly_manifests (
	manifest_id TEXT NOT NULL,
	anomaly_id  INTEGER NOT NULL REFERENCES anomalies (id) ON DELETE CASCADE,
	PRIMARY KEY (manifest_id, anomaly_id)
) WITHOUT ROWID;

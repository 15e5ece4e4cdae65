package embedded

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"math/bits"
	"strings"
	migratepkg "wasteledger/internal/migrate"

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate brings the schema up to date (internal/migrate).
func migrate(ctx context.Context, db *sql.DB) error {
	return migratepkg.Apply(ctx, db, migrationFiles, "migrations")
}

// dsn builds a go-sqlite3 data source name for path.
func dsn(path string, params ...string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?" + strings.Join(params, "&")
}

func writerDSN(path string, noSync bool) string {
	sync := "FULL"
	if noSync {
		sync = "OFF"
	}
	return dsn(path, "_journal_mode=WAL", "_busy_timeout=10000", "_foreign_keys=on",
		"_synchronous="+sync, "_txlock=immediate", "_cache_size=-65536")
}

func readerDSN(path string) string {
	return dsn(path, "_busy_timeout=10000", "_foreign_keys=on", "_query_only=true", "_cache_size=-16384")
}

func verifyDSN(path string) string {
	return dsn(path, "mode=ro", "_busy_timeout=10000", "_query_only=true", "_cache_size=-65536")
}

// rawConn is the committer's own connection, used below database/sql so
// that a block's hundreds of inserts cost no more than SQLite itself.
type rawConn struct {
	c       *sqlite3.SQLiteConn
	stmts   map[string]driver.Stmt
	batches map[batchKey]driver.Stmt
	nv      []driver.NamedValue // exec's argument scratch
}

func openRaw(path string, noSync bool) (*rawConn, error) {
	c, err := (&sqlite3.SQLiteDriver{}).Open(writerDSN(path, noSync))
	if err != nil {
		return nil, err
	}
	rc := &rawConn{c: c.(*sqlite3.SQLiteConn), stmts: map[string]driver.Stmt{}, batches: map[batchKey]driver.Stmt{}}
	// The WAL is checkpointed by a background goroutine, not by the commit
	// that happens to cross the threshold.
	if _, err := rc.c.Exec("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY", nil); err != nil {
		rc.close()
		return nil, err
	}
	return rc, nil
}

// exec runs a prepared statement (prepared once per query text). It goes
// through the driver's query path, which binds every argument and steps
// in one cgo crossing (its exec path crosses once per argument and copies
// each blob once more); the statement executes on that first step.
func (rc *rawConn) exec(query string, args ...driver.Value) error {
	st, ok := rc.stmts[query]
	if !ok {
		var err error
		st, err = rc.c.Prepare(query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
		rc.stmts[query] = st
	}
	return rc.run(st, args)
}

func (rc *rawConn) run(st driver.Stmt, args []driver.Value) error {
	nv := rc.nv[:0]
	for i, a := range args {
		nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	rc.nv = nv
	rows, err := st.(driver.StmtQueryContext).QueryContext(context.Background(), nv)
	clear(nv) // drop the references to the caller's values
	if err != nil {
		return err
	}
	return rows.Close()
}

// insertBatch is a multi-row INSERT being filled: rows of cols values,
// written by (*rawConn).insert. Its argument slice is reused.
type insertBatch struct {
	prefix string // "INSERT INTO t (a, b) VALUES "
	row    string // "(?, ?)"
	suffix string // "" or " ON CONFLICT …"
	cols   int
	args   []driver.Value
}

func newBatch(prefix, row, suffix string) insertBatch {
	return insertBatch{prefix: prefix, row: row, suffix: suffix, cols: strings.Count(row, "?")}
}

func (b *insertBatch) add(vals ...driver.Value) { b.args = append(b.args, vals...) }
func (b *insertBatch) rows() int                { return len(b.args) / b.cols }

// set replaces row r.
func (b *insertBatch) set(r int, vals ...driver.Value) { copy(b.args[r*b.cols:], vals) }

// maxBatchRows bounds the rows of one statement (SQLite allows 32766
// parameters); batches run in statements of power-of-two row counts, so
// at most a few shapes per table are ever prepared.
const maxBatchRows = 128

// inserts are the writer's statements, one per table.
type inserts struct {
	blocks, history, state, txs, events, merkle, txids insertBatch
}

func (in *inserts) reset() {
	for _, b := range []*insertBatch{&in.blocks, &in.history, &in.state, &in.txs, &in.events, &in.merkle, &in.txids} {
		clear(b.args)
		b.args = b.args[:0]
	}
}

func newInserts() inserts {
	return inserts{
		blocks: newBatch("INSERT INTO blocks (number, prev_hash, time, tx_count, first_leaf, tree_size, root, hash, checkpoint) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?, ?, ?)", ""),
		// prev: the key's previous row in the same batch, else the one
		// its state row leads to (the state is written after the history).
		history: newBatch("INSERT INTO history (id, key, block, tx, tx_id, time, value, deleted, prev) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, (SELECT hist FROM state WHERE key = ?)))", ""),
		state: newBatch("INSERT INTO state (key, block, tx, hist) VALUES ", "(?, ?, ?, ?)",
			" ON CONFLICT (key) DO UPDATE SET block = excluded.block, tx = excluded.tx, hist = excluded.hist"),
		txs: newBatch("INSERT INTO txs (leaf, tx_id, block, idx, record, response, response_hist) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?)", ""),
		events: newBatch("INSERT INTO events (seq, block, tx, tx_id, time, name, payload, payload_hist, payload_at) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?, ?, ?)", ""),
		merkle: newBatch("INSERT INTO merkle (pos, hash) VALUES ", "(?, ?)", ""),
		txids:  newBatch("INSERT INTO txids (tx_id, leaf) VALUES ", "(?, ?)", ""),
	}
}

// insert writes the batch's rows, in order, and empties it.
func (rc *rawConn) insert(b *insertBatch) error {
	defer func() {
		clear(b.args) // drop the references to the values
		b.args = b.args[:0]
	}()
	for rest := b.args; len(rest) > 0; {
		n := len(rest) / b.cols
		k := min(maxBatchRows, 1<<(bits.Len(uint(n))-1)) // the largest power of two ≤ n
		key := batchKey{b, k}
		st, ok := rc.batches[key]
		if !ok {
			var q strings.Builder
			q.WriteString(b.prefix)
			for i := range k {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString(b.row)
			}
			q.WriteString(b.suffix)
			var err error
			if st, err = rc.c.Prepare(q.String()); err != nil {
				return fmt.Errorf("prepare %q: %w", q.String(), err)
			}
			rc.batches[key] = st
		}
		if err := rc.run(st, rest[:k*b.cols]); err != nil {
			return err
		}
		rest = rest[k*b.cols:]
	}
	return nil
}

type batchKey struct {
	b    *insertBatch
	rows int
}

func (rc *rawConn) execNoArgs(query string) error {
	_, err := rc.c.Exec(query, nil)
	return err
}

// checkpoint runs a passive WAL checkpoint and returns the WAL's frames and
// how many of them are now in the database file.
func (rc *rawConn) checkpoint() (frames, done int64, err error) {
	rows, err := rc.c.Query("PRAGMA wal_checkpoint(PASSIVE)", nil)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 3)
	if err := rows.Next(dest); err != nil {
		return 0, 0, err
	}
	frames, _ = dest[1].(int64)
	done, _ = dest[2].(int64)
	return frames, done, nil
}

func (rc *rawConn) close() error {
	for _, st := range rc.stmts {
		st.Close()
	}
	for _, st := range rc.batches {
		st.Close()
	}
	return rc.c.Close()
}

package embedded

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded .sql files in order. A file is named
// NNNN_description.sql; its number is the user_version it brings the
// database to.
func migrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %q: want NNNN_name.sql", e.Name())
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %q: %w", e.Name(), err)
		}
		b, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q: number %d, want %d", m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrate applies every migration newer than the database's user_version,
// each in its own transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var cur int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&cur); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if cur > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this program (%d)", cur, len(ms))
	}
	for _, m := range ms[cur:] {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
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
	c     *sqlite3.SQLiteConn
	stmts map[string]driver.Stmt
}

func openRaw(path string, noSync bool) (*rawConn, error) {
	c, err := (&sqlite3.SQLiteDriver{}).Open(writerDSN(path, noSync))
	if err != nil {
		return nil, err
	}
	rc := &rawConn{c: c.(*sqlite3.SQLiteConn), stmts: map[string]driver.Stmt{}}
	// The WAL is checkpointed by a background goroutine, not by the commit
	// that happens to cross the threshold.
	if _, err := rc.c.Exec("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864", nil); err != nil {
		rc.close()
		return nil, err
	}
	return rc, nil
}

// exec runs a prepared statement (prepared once per query text).
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
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	_, err := st.(driver.StmtExecContext).ExecContext(context.Background(), nv)
	return err
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
	return rc.c.Close()
}

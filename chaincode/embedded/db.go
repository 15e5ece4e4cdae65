package embedded

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
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

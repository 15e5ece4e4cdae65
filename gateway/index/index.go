package index

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	migratepkg "wasteledger/internal/migrate"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver

	"wasteledger/gateway/ledger"
)

// DefaultFile is the index's file name in the data directory.
const DefaultFile = "index.db"

// DefaultLinger is Config.Linger's default. Under load a handover dirties
// about ten pages of the index (the manifest row and its five indexes, the
// step, the version log, …); at 25 ms a transaction applied ~50 handovers
// and its commit cost ~55 µs per handover, at 100 ms ~25 µs (bench http,
// 32 clients). An event that finds the follower idle is still applied at
// once.
const DefaultLinger = 100 * time.Millisecond

// Config configures an index. Only Path is required.
type Config struct {
	Path    string // the SQLite file; created if missing
	Readers int    // read connections (default 4)
	Logger  *slog.Logger
	// Batch is how many events one transaction applies (default 1000).
	Batch int
	// Linger is how long Follow lets events gather after it read a batch
	// before it reads the next (default DefaultLinger; negative: not at all).
	// Under load one transaction then applies many events, writing each
	// page they share once; an event that arrives when the follower is
	// idle is applied at once.
	Linger time.Duration
}

// Index is an open off-chain index. Its methods are safe for concurrent
// use; one connection writes, a pool reads.
type Index struct {
	cfg Config
	log *slog.Logger
	w   *sql.DB // exactly one connection: the only writer
	r   *sql.DB

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed and replaced after every applied batch
	gen     atomic.Uint64 // bumped with every close of changed
	pages   pageCache
}

// Status is where the follower is, for /readyz and /metrics.
type Status struct {
	Cursor    ledger.Cursor `json:"cursor"`     // the checkpoint: last event applied
	Events    int64         `json:"events"`     // events applied since genesis
	EventTime time.Time     `json:"event_time"` // ledger time of the last event applied
	AppliedAt time.Time     `json:"applied_at"` // wall clock of the last applied batch
	CaughtUp  bool          `json:"caught_up"`  // the last read found no more events
	Following bool          `json:"following"`  // Follow is running
	Err       string        `json:"error,omitempty"`
}

// Lag is how far behind the ledger the index may be: zero when caught up,
// otherwise the wall-clock time since the last applied event's commit.
func (s Status) Lag(now time.Time) time.Duration {
	if s.CaughtUp || s.EventTime.IsZero() {
		return 0
	}
	return now.Sub(s.EventTime)
}

//go:embed migrations/*.sql
var migrationFS embed.FS

func dsn(path string, params ...string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + strings.Join(params, "&")
}

// Open opens (creating if needed) the index at cfg.Path and applies pending
// migrations.
func Open(ctx context.Context, cfg Config) (*Index, error) {
	if cfg.Path == "" {
		return nil, errors.New("index: Config.Path is empty")
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 4
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w, err := sql.Open("sqlite3", dsn(cfg.Path, "_busy_timeout=10000", "_foreign_keys=on", "_journal_mode=WAL", "_synchronous=NORMAL", "_txlock=immediate", "cache=private", "_stmt_cache_size=128"))
	if err != nil {
		return nil, fmt.Errorf("index: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if _, err := w.ExecContext(ctx, "PRAGMA cache_size = -65536"); err != nil {
		w.Close()
		return nil, fmt.Errorf("index: open: %w", err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("index: open: %w", err)
	}
	r, err := sql.Open("sqlite3", dsn(cfg.Path, "_busy_timeout=10000", "_foreign_keys=on", "_query_only=1", "_cache_size=-32768", "_stmt_cache_size=64"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("index: open: %w", err)
	}
	r.SetMaxOpenConns(cfg.Readers)
	r.SetMaxIdleConns(cfg.Readers)
	r.SetConnMaxIdleTime(0)
	ix := &Index{cfg: cfg, log: cfg.Logger, w: w, r: r, changed: make(chan struct{})}
	if err := ix.loadStatus(ctx); err != nil {
		ix.Close()
		return nil, fmt.Errorf("index: open: %w", err)
	}
	return ix, nil
}

// Close closes the index.
func (ix *Index) Close() error {
	return errors.Join(ix.r.Close(), ix.w.Close())
}

// migrate brings the schema up to date (internal/migrate).
func migrate(ctx context.Context, db *sql.DB) error {
	return migratepkg.Apply(ctx, db, migrationFS, "migrations")
}

func (ix *Index) loadStatus(ctx context.Context) error {
	var st Status
	var et, at sql.NullInt64
	err := ix.w.QueryRowContext(ctx, "SELECT block, tx, events, event_time, applied_at FROM checkpoint WHERE id = 1").
		Scan(&st.Cursor.Block, &st.Cursor.Tx, &st.Events, &et, &at)
	if err != nil {
		return err
	}
	st.EventTime, st.AppliedAt = nsTime(et.Int64), nsTime(at.Int64)
	ix.mu.Lock()
	ix.status = st
	ix.mu.Unlock()
	return nil
}

// Status returns where the index is.
func (ix *Index) Status() Status {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.status
}

// Checkpoint is the cursor of the last event applied.
func (ix *Index) Checkpoint() ledger.Cursor { return ix.Status().Cursor }

// Changed returns a channel closed the next time the index applies events
// (or repairs rows).
func (ix *Index) Changed() <-chan struct{} {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.changed
}

func (ix *Index) notify(update func(*Status)) {
	ix.mu.Lock()
	update(&ix.status)
	ix.gen.Add(1)
	close(ix.changed)
	ix.changed = make(chan struct{})
	ix.mu.Unlock()
}

// Reader is the read pool, for packages that query the index's tables
// directly (reconciliation and indicators). Never write through it.
func (ix *Index) Reader() *sql.DB { return ix.r }

func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func timeNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nullNS(ns int64) any {
	if ns == 0 {
		return nil
	}
	return ns
}

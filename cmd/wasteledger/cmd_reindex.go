package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/ledger/fabricgw"
)

func init() {
	register("reindex", "rebuild the off-chain index from the ledger's genesis, with progress", runReindex)
}

// indexFlags are the flags reindex and reconcile share: where the data
// and the ledger are.
type indexFlags struct {
	data, kind, profile string
	quiet               bool
}

func (f *indexFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", envDefault("data", "./data"), "data directory: the ledger and the index (env WASTELEDGER_DATA)")
	fs.StringVar(&f.kind, "ledger", envDefault("ledger", "embedded"), "ledger: embedded or fabric (env WASTELEDGER_LEDGER)")
	fs.StringVar(&f.profile, "fabric-profile", envDefault("fabric-profile", "network/.run/connection.json"), "Fabric connection profile, with -ledger fabric (env WASTELEDGER_FABRIC_PROFILE)")
	fs.BoolVar(&f.quiet, "q", false, "no progress")
}

// open opens the ledger (which must exist) and the index.
func (f *indexFlags) open(ctx context.Context, log *slog.Logger) (ledger.Ledger, *ledger.Local, *index.Index, error) {
	var l ledger.Ledger
	var local *ledger.Local
	switch f.kind {
	case "embedded":
		path := ledgerPath(f.data)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("no ledger at %s (run `wasteledger init` or serve first)", path)
		}
		x, err := ledger.OpenLocal(ctx, ledger.LocalConfig{Path: path, Logger: log})
		if err != nil {
			return nil, nil, nil, err
		}
		l, local = x, x
	case "fabric":
		x, err := fabricgw.Open(f.profile, fabricgw.WithLogger(log))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("-ledger fabric: %w", err)
		}
		l = x
	default:
		return nil, nil, nil, fmt.Errorf("-ledger must be embedded or fabric, not %q", f.kind)
	}
	ix, err := index.Open(ctx, index.Config{Path: filepath.Join(f.data, index.DefaultFile), Logger: log})
	if err != nil {
		l.Close()
		return nil, nil, nil, err
	}
	return l, local, ix, nil
}

// indexProgress prints the follower's position on one line.
type indexProgress struct {
	w     io.Writer
	what  string
	start time.Time
	last  time.Time
	local *ledger.Local
	ctx   context.Context
}

func (p *indexProgress) update(s index.Status) {
	if p == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	rate := float64(s.Events) / max(time.Since(p.start).Seconds(), 0.001)
	behind := ""
	if p.local != nil {
		if n, err := p.local.Lag(p.ctx, s.Cursor); err == nil {
			behind = fmt.Sprintf("  %d to go", n)
		}
	}
	fmt.Fprintf(p.w, "\r%s: %d events, block %d, %.0f events/s%s   ", p.what, s.Events, s.Cursor.Block, rate, behind)
}

func (p *indexProgress) done() {
	if p != nil && !p.last.IsZero() {
		fmt.Fprintln(p.w)
	}
}

func runReindex(ctx context.Context, e *env, args []string) error {
	fs := e.flags("reindex", "")
	var f indexFlags
	f.register(fs)
	resume := fs.Bool("resume", false, "continue from the index's checkpoint instead of rebuilding from genesis")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, local, ix, err := f.open(ctx, e.log)
	if err != nil {
		return err
	}
	defer l.Close()
	defer ix.Close()
	var p *indexProgress
	if !f.quiet {
		p = &indexProgress{w: e.stderr, what: "reindex", start: time.Now(), local: local, ctx: ctx}
	}
	start := time.Now()
	var n int64
	if *resume {
		n, err = ix.CatchUp(ctx, l, p.update)
	} else {
		n, err = ix.Rebuild(ctx, l, p.update)
	}
	p.done()
	if err != nil {
		return fmt.Errorf("after %d events: %w (run again with -resume to continue)", n, err)
	}
	s := ix.Status()
	fmt.Fprintf(e.stdout, "indexed %d events in %.1f s; checkpoint block %d tx %d, %d events since genesis\n",
		n, time.Since(start).Seconds(), s.Cursor.Block, s.Cursor.Tx, s.Events)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
)

func init() {
	register("init", "create an embedded ledger in the data directory", runInit)
	register("verify", "check an embedded ledger end to end: hashes, Merkle tree, signatures, replay", runVerify)
}

// ledgerPath is where serve, init and verify keep the embedded ledger.
func ledgerPath(data string) string { return filepath.Join(data, "ledger.db") }

func runInit(ctx context.Context, e *env, args []string) error {
	fs := e.flags("init", "")
	data := fs.String("data", envDefault("data", "./data"), "data directory (env WASTELEDGER_DATA)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	info, err := embedded.Init(ctx, embedded.Config{Path: ledgerPath(*data), Logger: e.log})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created ledger %s at %s\n", info.LedgerID, ledgerPath(*data))
	fmt.Fprintf(e.stdout, "checkpoint origin:   %s\n", info.Origin)
	fmt.Fprintf(e.stdout, "checkpoint verifier: %s\n", info.VerifierKey)
	fmt.Fprintf(e.stdout, "Publish the verifier key: anyone holding it can check this ledger's checkpoints.\n")
	return nil
}

func runVerify(ctx context.Context, e *env, args []string) error {
	fs := e.flags("verify", "")
	data := fs.String("data", envDefault("data", "./data"), "data directory (env WASTELEDGER_DATA)")
	path := fs.String("ledger", "", "ledger file (default DATA/ledger.db)")
	key := fs.String("verifier-key", envDefault("verifier_key", ""), "trust this checkpoint verifier key instead of the one stored in the ledger")
	export := fs.String("export", "", "verify an audit export (JSON Lines) offline instead of a ledger")
	quiet := fs.Bool("q", false, "no progress")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *export != "" {
		return verifyExport(ctx, e, *export)
	}
	if *path == "" {
		*path = ledgerPath(*data)
	}
	var p *progress
	if !*quiet {
		p = newProgress(e.stderr, "verify")
	}
	rep, err := embedded.Verify(ctx, embedded.Config{Path: *path, VerifierKey: *key, Logger: e.log}, chaincode.New(), p.update)
	p.done()
	var d *embedded.Divergence
	if errors.As(err, &d) {
		fmt.Fprintf(e.stdout, "FAILED %s\n", *path)
		fmt.Fprintf(e.stdout, "first divergence: %s\n", d.Error())
		return fmt.Errorf("ledger does not verify")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "OK %s: ledger %s\n", *path, rep.LedgerID)
	fmt.Fprintf(e.stdout, "  %d blocks, %d transactions replayed, %d events, %d state keys compared\n", rep.Blocks, rep.Txs, rep.Events, rep.Keys)
	fmt.Fprintf(e.stdout, "  Merkle tree size %d, root %x\n", rep.TreeSize, rep.Root)
	fmt.Fprintf(e.stdout, "  %.1f s\n", rep.Duration.Seconds())
	return nil
}

// progress draws a one-line progress bar on a terminal stream.
type progress struct {
	w     io.Writer
	what  string
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, start: time.Now()}
}

func (p *progress) update(done, total uint64) {
	if p == nil || time.Since(p.last) < 200*time.Millisecond && done != total {
		return
	}
	p.last = time.Now()
	pct := 100
	if total > 0 {
		pct = int(done * 100 / total)
	}
	bar := [20]byte{}
	for i := range bar {
		bar[i] = ' '
		if i < pct/5 {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3d%%  %d/%d transactions  %.0f s", p.what, bar[:], pct, done, total, time.Since(p.start).Seconds())
}

func (p *progress) done() {
	if p != nil && !p.last.IsZero() {
		fmt.Fprintln(p.w)
	}
}

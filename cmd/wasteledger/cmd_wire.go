package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway"
	"wasteledger/gateway/audit"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/ledger/fabricgw"
	"wasteledger/gateway/paper"
	"wasteledger/gateway/reconcile"
	mobileapi "wasteledger/mobile-api"
)

// regulatorCaller is the identity the regulator's read-only ledger queries
// run as.
var regulatorCaller = chaincode.Caller{MSP: "RegulatorMSP", ID: "gateway"}

// wireOthers connects the packages other parts of the service live in —
// the off-chain index, the driver API, QR tickets and the printable
// manifest — to the gateway. It sets deps.Index before the server is
// built, and returns a function that, given the server (whose Countersign
// and keyring the driver API uses), returns their routes.
func wireOthers(ctx context.Context, c *serveConfig, log *slog.Logger, deps *gateway.Deps, a *app) (func(*gateway.Server) ([][]httpx.Route, error), error) {
	ix, err := index.Open(ctx, index.Config{Path: filepath.Join(c.Data, index.DefaultFile), Linger: offIfZero(c.IndexLinger), Logger: log})
	if err != nil {
		return nil, err
	}
	fctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := ix.Follow(fctx, deps.Ledger); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("index follower stopped", "err", err)
		}
	}()
	a.closes = append(a.closes, func() error {
		stop()
		wg.Wait()
		return ix.Close()
	})
	deps.Index = ix

	cal, err := loadCalendar(c.Holidays)
	if err != nil {
		return nil, fmt.Errorf("holidays: %w", err)
	}
	dismantlers, err := loadDismantlers(c.Dismantlers)
	if err != nil {
		return nil, fmt.Errorf("dismantlers: %w", err)
	}
	var prover audit.Prover
	var blockProof func(context.Context, string) (any, error)
	switch l := deps.Ledger.(type) {
	case *ledger.Local:
		prover = l.Embedded()
	case *fabricgw.Ledger:
		blockProof = func(ctx context.Context, txID string) (any, error) { return l.BlockProof(ctx, txID) }
	}
	base := c.PublicURL
	return func(srv *gateway.Server) ([][]httpx.Route, error) {
		// Reconciliation: the rules and the ledger/index check in the
		// background, the regulator's views as routes.
		rec := &reconcile.Reconciler{Index: ix, Ledger: deps.Ledger, Caller: regulatorCaller, Calendar: cal, Limits: reconcile.DefaultLimits(), Dismantlers: dismantlers, Log: log}
		rctx, rstop := context.WithCancel(context.Background())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := rec.Run(rctx, 5*time.Minute, time.Hour); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("reconciler stopped", "err", err)
			}
		}()
		a.closes = append(a.closes, func() error { rstop(); return nil })
		return [][]httpx.Route{
			reconcile.Routes(reconcile.Deps{Index: ix, Ledger: deps.Ledger, Caller: regulatorCaller, Prover: prover, BlockProof: blockProof, Calendar: cal, Sign: srv.SignAsOrg, Log: log}),
			mobileapi.Routes(mobileapi.Deps{
				Ledger:      deps.Ledger,
				Keyring:     deps.Keyring,
				Countersign: srv.Countersign,
				CodeKey:     srv.CodeKey,
				BaseURL:     base,
				Log:         log,
			}),
			paper.Routes(paper.Deps{Ledger: deps.Ledger, Keyring: deps.Keyring, BaseURL: base, Log: log}),
		}, nil
	}, nil
}

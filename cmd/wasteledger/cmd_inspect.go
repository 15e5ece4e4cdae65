package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

func init() {
	register("inspect", "show a manifest's history on the embedded ledger: every version, block, tx id and signature", runInspect)
}

func runInspect(ctx context.Context, e *env, args []string) error {
	fs := e.flags("inspect", "MANIFEST_NUMBER")
	data := fs.String("data", envDefault("data", "./data"), "data directory (env WASTELEDGER_DATA)")
	asJSON := fs.Bool("json", false, "print the history as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("one manifest number is required")
	}
	id := fs.Arg(0)
	if err := manifest.ValidNumber(id); err != nil {
		return err
	}
	l, err := embedded.Open(ctx, embedded.Config{Path: ledgerPath(*data), Logger: e.log}, chaincode.New())
	if err != nil {
		if strings.Contains(err.Error(), "lock") {
			return fmt.Errorf("%w\nthe ledger is in use (is `wasteledger serve` running?): stop it, or read GET /api/v1/manifests/%s/history", err, id)
		}
		return err
	}
	defer l.Close()
	auditor := chaincode.Caller{MSP: "RegulatorMSP", ID: "inspect"}
	raw, err := l.Evaluate(ctx, auditor, "ManifestHistory", []byte(id))
	if err != nil {
		return err
	}
	var hist []chaincode.HistoryEntry
	if err := json.Unmarshal(raw, &hist); err != nil {
		return err
	}
	type row struct {
		chaincode.HistoryEntry
		Block      uint64 `json:"block"`
		Step       string `json:"step,omitempty"`
		Signatures []struct {
			manifest.SignatureRecord
			Verified bool   `json:"verified"`
			Problem  string `json:"problem,omitempty"`
		} `json:"signatures,omitempty"`
	}
	rows := make([]row, 0, len(hist))
	for _, h := range hist {
		r := row{HistoryEntry: h}
		tx, err := l.Transaction(ctx, h.TxID)
		if err != nil {
			return fmt.Errorf("transaction %s: %w", h.TxID, err)
		}
		r.Block = tx.Block
		var m manifest.Manifest
		if err := json.Unmarshal(h.Manifest, &m); err != nil {
			return err
		}
		// The step this version added, re-verified against the keys on the ledger.
		if n := len(m.Steps); n > 0 && m.Steps[n-1].TxID == h.TxID {
			s := m.Steps[n-1]
			r.Step = string(s.Step)
			for _, sig := range s.Signatures {
				v := struct {
					manifest.SignatureRecord
					Verified bool   `json:"verified"`
					Problem  string `json:"problem,omitempty"`
				}{SignatureRecord: sig}
				if err := verifyRecorded(ctx, l, auditor, sig, []byte(s.Statement)); err != nil {
					v.Problem = err.Error()
				} else {
					v.Verified = true
				}
				r.Signatures = append(r.Signatures, v)
			}
		}
		rows = append(rows, r)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "manifest %s\n", id)
	fmt.Fprintln(tw, "VERSION\tSTATUS\tSTEP\tBLOCK\tCOMMITTED (UTC)\tTX ID\tSIGNATURES")
	for _, r := range rows {
		var sigs []string
		for _, s := range r.Signatures {
			verdict := "ok"
			if !s.Verified {
				verdict = "FAILED: " + s.Problem
			}
			sigs = append(sigs, fmt.Sprintf("%s key %s… by %s %s", s.Org, s.Key[:8], s.SignedBy, verdict))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Version, r.Status, r.Step, r.Block, r.Time.Format("2006-01-02 15:04:05"), r.TxID[:16]+"…", strings.Join(sigs, "; "))
	}
	return tw.Flush()
}

// verifyRecorded re-verifies a recorded signature against the registered key.
func verifyRecorded(ctx context.Context, l *embedded.Ledger, c chaincode.Caller, sig manifest.SignatureRecord, canonical []byte) error {
	b, err := l.Evaluate(ctx, c, "GetKey", []byte(sig.Key))
	if err != nil {
		return err
	}
	var k manifest.Key
	if err := json.Unmarshal(b, &k); err != nil {
		return err
	}
	pub, err := signature.ParsePublicJWK(k.JWK)
	if err != nil {
		return err
	}
	if k.Org != sig.Org {
		return fmt.Errorf("key belongs to %s", k.Org)
	}
	return signature.Verify(pub, canonical, sig.Sig)
}

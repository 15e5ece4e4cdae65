package ledger

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
)

func TestLocalEventsAndTx(t *testing.T) {
	ctx := context.Background()
	l, err := OpenLocal(ctx, LocalConfig{Path: filepath.Join(t.TempDir(), "ledger.db"), NoSync: true, BlockMaxWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reg := chaincode.Caller{MSP: scenario.RegulatorMSP, ID: "admin"}
	var commits []Commit
	for i := 0; i < 7; i++ {
		p := scenario.NewParty("测试单位", "440100", scenario.ProducerMSP, "producer")
		b, _ := json.Marshal(p.Org)
		c, err := l.Submit(ctx, reg, "RegisterOrg", b)
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, c)
	}
	// Walking the feed in pages visits every commit once, in order.
	var got []Event
	var after Cursor
	for {
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		evs, err := l.Events(wctx, after, 3)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		got = append(got, evs...)
		after = evs[len(evs)-1].Cursor
		if len(got) > 20 {
			t.Fatal("feed does not end")
		}
	}
	if len(got) != len(commits) {
		t.Fatalf("feed has %d events, want %d", len(got), len(commits))
	}
	for i, ev := range got {
		if ev.TxID != commits[i].TxID || ev.Cursor.Block != commits[i].Block || ev.Name != "org.registered" {
			t.Fatalf("event %d = %+v, want tx %s in block %d", i, ev, commits[i].TxID, commits[i].Block)
		}
		tx, err := l.Tx(ctx, ev.TxID)
		if err != nil || tx.Block != ev.Cursor.Block || tx.Index != ev.Cursor.Tx {
			t.Fatalf("Tx(%s) = %+v, %v; want block %d index %d", ev.TxID, tx, err, ev.Cursor.Block, ev.Cursor.Tx)
		}
	}
	// A fresh wrapper (no remembered cursors) finds the position by search.
	fresh := NewLocal(l.Embedded())
	for i := range got {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		evs, err := fresh.Events(wctx, got[i].Cursor, 100)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != len(got)-i-1 || (len(evs) > 0 && evs[0].TxID != got[i+1].TxID) {
			t.Fatalf("Events after event %d: %d events, want %d starting at %s", i, len(evs), len(got)-i-1, got[min(i+1, len(got)-1)].TxID)
		}
		if lag, _ := fresh.Lag(ctx, got[i].Cursor); lag != uint64(len(got)-i-1) {
			t.Fatalf("Lag after event %d = %d, want %d", i, lag, len(got)-i-1)
		}
	}
	// At the end of the feed, Events waits for the deadline and returns
	// nothing.
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	evs, err := l.Events(wctx, after, 10)
	if err != nil || len(evs) != 0 || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("Events at the end = %d events, %v after %v; want none after waiting", len(evs), err, time.Since(start))
	}
	head, n, err := l.Head(ctx)
	if err != nil || head != after || n != uint64(len(got)) {
		t.Fatalf("Head() = %+v, %d, %v; want %+v, %d", head, n, err, after, len(got))
	}
}

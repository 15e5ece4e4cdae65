package embedded_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
)

// greeter is a one-function contract: "set" stores its argument and emits
// an event.
type greeter struct{}

func (greeter) Invoke(st chaincode.State, fn string, args [][]byte) ([]byte, error) {
	if err := st.Put("greeting", args[0]); err != nil {
		return nil, err
	}
	return []byte("ok"), st.Emit("greeting.set", args[0])
}

func Example() {
	dir, _ := os.MkdirTemp("", "ledger")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	cfg := embedded.Config{Path: filepath.Join(dir, "ledger.db")}

	if _, err := embedded.Init(ctx, cfg); err != nil {
		log.Fatal(err)
	}
	l, err := embedded.Open(ctx, cfg, greeter{})
	if err != nil {
		log.Fatal(err)
	}
	r, err := l.Submit(ctx, chaincode.Caller{MSP: "ProducerMSP", ID: "alice"}, "set", []byte("hello"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("block", r.Block, "event", r.Event.Seq, r.Event.Name)
	l.Close()

	rep, err := embedded.Verify(ctx, cfg, greeter{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified", rep.Blocks, "blocks,", rep.Txs, "tx")
	// Output:
	// block 1 event 1 greeting.set
	// verified 2 blocks, 1 tx
}

package fabricgw_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/ledger/fabricgw"
	"wasteledger/manifest"
)

// Open the network network/up.sh started, submit as the regulator, and
// follow the events from a stored cursor. (Not run: it needs the network.)
func ExampleOpen() {
	l, err := fabricgw.Open("network/.run/connection.json",
		fabricgw.WithCommitStatusTimeout(10*time.Second),
		fabricgw.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()

	c, err := l.Submit(ctx, chaincode.Caller{MSP: "RegulatorMSP"}, "Diagnose")
	switch manifest.CodeOf(err) {
	case "":
		fmt.Println("committed", c.TxID, "in block", c.Block)
	case manifest.Unavailable:
		fmt.Println("the ledger cannot be reached; try again later:", err)
	default:
		fmt.Println("refused:", err) // the contract's code, e.g. [forbidden]
	}

	var cursor ledger.Cursor // stored by the follower after each page
	page, err := l.Events(ctx, cursor, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page {
		fmt.Println(e.Cursor, e.Name, e.TxID)
		cursor = e.Cursor
	}
}

// Command putstatecc is the speed baseline of the local Fabric network: the
// smallest useful chaincode, served as a chaincode-as-a-service process.
// Put(key, value) writes one key; Get(key) reads it back. Nothing else runs
// inside a transaction, so a benchmark against it measures Fabric itself
// (endorsement, ordering, validation, commit) and nothing of ours.
//
// Configuration comes from the environment, as network/up.sh sets it, read
// as the wasteledger chaincode reads it (fabric.ServerConfigFromEnv).
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"wasteledger/chaincode/fabric"
)

// store is the chaincode: two functions over the world state.
type store struct{}

// Init does nothing: Fabric v2 lifecycle needs no initialisation call.
func (store) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }

// Invoke dispatches Put(key, value) and Get(key).
func (store) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	fn, args := stub.GetFunctionAndParameters()
	switch fn {
	case "Put":
		if len(args) != 2 || args[0] == "" {
			return shim.Error("[invalid] Put takes a non-empty key and a value")
		}
		if err := stub.PutState(args[0], []byte(args[1])); err != nil {
			return shim.Error("[internal] put " + args[0] + ": " + err.Error())
		}
		return shim.Success(nil)
	case "Get":
		if len(args) != 1 || args[0] == "" {
			return shim.Error("[invalid] Get takes a non-empty key")
		}
		v, err := stub.GetState(args[0])
		if err != nil {
			return shim.Error("[internal] get " + args[0] + ": " + err.Error())
		}
		if v == nil {
			return shim.Error("[not_found] key " + args[0])
		}
		return shim.Success(v)
	default:
		return shim.Error(fmt.Sprintf("[invalid] unknown function %q (want Put or Get)", fn))
	}
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := fabric.ServerConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("config", "err", err)
		os.Exit(2)
	}
	srv := &shim.ChaincodeServer{CCID: cfg.CCID, Address: cfg.Address, CC: store{}, TLSProps: cfg.TLS}
	log.Info("serving putstate chaincode", "address", cfg.Address, "tls", !cfg.TLS.Disabled,
		"mutual_tls", cfg.TLS.ClientCACerts != nil)
	if err := srv.Start(); err != nil {
		log.Error("chaincode server stopped", "err", err)
		os.Exit(1)
	}
}

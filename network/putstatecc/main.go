// Command putstatecc is the speed baseline of the local Fabric network: the
// smallest useful chaincode, served as a chaincode-as-a-service process.
// Put(key, value) writes one key; Get(key) reads it back. Nothing else runs
// inside a transaction, so a benchmark against it measures Fabric itself
// (endorsement, ordering, validation, commit) and nothing of ours.
//
// Configuration comes from the environment, as network/up.sh sets it:
//
//	CHAINCODE_ID                  package id the peers know the chaincode by (required)
//	CHAINCODE_SERVER_ADDRESS      host:port to listen on (required)
//	CHAINCODE_TLS_DISABLED        "true" to serve without TLS
//	CHAINCODE_TLS_CERT            PEM file: server certificate
//	CHAINCODE_TLS_KEY             PEM file: server private key
//	CHAINCODE_TLS_CLIENT_CA_CERT  PEM file: CA of the peers' client certificates;
//	                              when set, peers must present one (mutual TLS)
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
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

type config struct {
	ccid    string
	address string
	tls     shim.TLSProperties
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{ccid: getenv("CHAINCODE_ID"), address: getenv("CHAINCODE_SERVER_ADDRESS")}
	if c.ccid == "" || c.address == "" {
		return c, errors.New("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	if v := getenv("CHAINCODE_TLS_DISABLED"); v != "" {
		off, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("CHAINCODE_TLS_DISABLED: %w", err)
		}
		c.tls.Disabled = off
	}
	if c.tls.Disabled {
		return c, nil
	}
	files := []struct {
		env      string
		dst      *[]byte
		optional bool
	}{
		{"CHAINCODE_TLS_CERT", &c.tls.Cert, false},
		{"CHAINCODE_TLS_KEY", &c.tls.Key, false},
		{"CHAINCODE_TLS_CLIENT_CA_CERT", &c.tls.ClientCACerts, true},
	}
	for _, f := range files {
		path := getenv(f.env)
		if path == "" {
			if f.optional {
				continue
			}
			return c, fmt.Errorf("%s must be set unless CHAINCODE_TLS_DISABLED=true", f.env)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("%s: %w", f.env, err)
		}
		*f.dst = b
	}
	return c, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Error("config", "err", err)
		os.Exit(2)
	}
	srv := &shim.ChaincodeServer{CCID: cfg.ccid, Address: cfg.address, CC: store{}, TLSProps: cfg.tls}
	log.Info("serving putstate chaincode", "address", cfg.address, "tls", !cfg.tls.Disabled,
		"mutual_tls", cfg.tls.ClientCACerts != nil)
	if err := srv.Start(); err != nil {
		log.Error("chaincode server stopped", "err", err)
		os.Exit(1)
	}
}

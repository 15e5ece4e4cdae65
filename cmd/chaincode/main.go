// Command chaincode serves the wasteledger contract as a Hyperledger Fabric
// chaincode-as-a-service process: the peers dial it at
// CHAINCODE_SERVER_ADDRESS and know it by CHAINCODE_ID. TLS is configured
// by CHAINCODE_TLS_DISABLED, CHAINCODE_TLS_CERT, CHAINCODE_TLS_KEY and
// CHAINCODE_TLS_CLIENT_CA_CERT (see fabric.ServerConfig); network/deploy-cc.sh
// sets them all. CHAINCODE_PPROF_ADDRESS, when set, serves Go's pprof
// profiles on that address (network/up.sh with PEER_PPROF=1).
package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := fabric.ServerConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("config", "err", err)
		os.Exit(2)
	}
	cc, err := fabric.NewChaincode(chaincode.NewForPeers())
	if err != nil {
		log.Error("contract", "err", err)
		os.Exit(1)
	}
	if addr := os.Getenv("CHAINCODE_PPROF_ADDRESS"); addr != "" {
		go func() { log.Error("pprof server stopped", "err", http.ListenAndServe(addr, nil)) }()
	}
	log.Info("serving the wasteledger chaincode", "address", cfg.Address, "ccid", cfg.CCID,
		"tls", !cfg.TLS.Disabled, "mutual_tls", cfg.TLS.ClientCACerts != nil)
	if err := cfg.Server(cc).Start(); err != nil {
		log.Error("chaincode server stopped", "err", err)
		os.Exit(1)
	}
}

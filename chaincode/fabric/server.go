package fabric

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// ServerConfig is the configuration of the chaincode-as-a-service process,
// as network/deploy-cc.sh passes it in the environment:
//
//	CHAINCODE_ID                  package id the peers know the chaincode by (required)
//	CHAINCODE_SERVER_ADDRESS      host:port to listen on (required)
//	CHAINCODE_TLS_DISABLED        "true" to serve without TLS (default false)
//	CHAINCODE_TLS_CERT            PEM file: server certificate (required with TLS)
//	CHAINCODE_TLS_KEY             PEM file: server private key (required with TLS)
//	CHAINCODE_TLS_CLIENT_CA_CERT  PEM file: CA of the peers' client certificates;
//	                              when set, peers must present one (mutual TLS).
//	                              CHAINCODE_CLIENT_CA_CERT (the fabric-samples
//	                              name) is read when it is unset.
type ServerConfig struct {
	CCID    string
	Address string
	TLS     shim.TLSProperties
}

// ServerConfigFromEnv reads the configuration through getenv (os.Getenv).
func ServerConfigFromEnv(getenv func(string) string) (ServerConfig, error) {
	c := ServerConfig{CCID: getenv("CHAINCODE_ID"), Address: getenv("CHAINCODE_SERVER_ADDRESS")}
	if c.CCID == "" || c.Address == "" {
		return c, errors.New("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	if v := getenv("CHAINCODE_TLS_DISABLED"); v != "" {
		off, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("CHAINCODE_TLS_DISABLED: %w", err)
		}
		c.TLS.Disabled = off
	}
	if c.TLS.Disabled {
		return c, nil
	}
	clientCA := "CHAINCODE_TLS_CLIENT_CA_CERT"
	if getenv(clientCA) == "" && getenv("CHAINCODE_CLIENT_CA_CERT") != "" {
		clientCA = "CHAINCODE_CLIENT_CA_CERT"
	}
	files := []struct {
		env      string
		dst      *[]byte
		optional bool
	}{
		{"CHAINCODE_TLS_CERT", &c.TLS.Cert, false},
		{"CHAINCODE_TLS_KEY", &c.TLS.Key, false},
		{clientCA, &c.TLS.ClientCACerts, true},
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

// Server returns the chaincode server for cc.
func (c ServerConfig) Server(cc shim.Chaincode) *shim.ChaincodeServer {
	return &shim.ChaincodeServer{CCID: c.CCID, Address: c.Address, CC: cc, TLSProps: c.TLS}
}

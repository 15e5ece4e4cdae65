package fabric

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert, key, ca := file("cert.pem", "CERT"), file("key.pem", "KEY"), file("ca.pem", "CA")
	base := map[string]string{"CHAINCODE_ID": "wasteledger_1.0:abc", "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:7121"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(ServerConfig) bool
	}{
		{"no id", map[string]string{"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:1"}, "CHAINCODE_ID", nil},
		{"tls off", with("CHAINCODE_TLS_DISABLED", "true"), "", func(c ServerConfig) bool { return c.TLS.Disabled && c.Address == "127.0.0.1:7121" }},
		{"tls on by default needs a cert", with(), "CHAINCODE_TLS_CERT", nil},
		{"bad bool", with("CHAINCODE_TLS_DISABLED", "maybe"), "CHAINCODE_TLS_DISABLED", nil},
		{"server tls", with("CHAINCODE_TLS_DISABLED", "false", "CHAINCODE_TLS_CERT", cert, "CHAINCODE_TLS_KEY", key), "",
			func(c ServerConfig) bool {
				return !c.TLS.Disabled && string(c.TLS.Cert) == "CERT" && string(c.TLS.Key) == "KEY" && c.TLS.ClientCACerts == nil
			}},
		{"mutual tls", with("CHAINCODE_TLS_CERT", cert, "CHAINCODE_TLS_KEY", key, "CHAINCODE_TLS_CLIENT_CA_CERT", ca), "",
			func(c ServerConfig) bool { return string(c.TLS.ClientCACerts) == "CA" }},
		{"fabric-samples client CA name", with("CHAINCODE_TLS_CERT", cert, "CHAINCODE_TLS_KEY", key, "CHAINCODE_CLIENT_CA_CERT", ca), "",
			func(c ServerConfig) bool { return string(c.TLS.ClientCACerts) == "CA" }},
		{"missing file", with("CHAINCODE_TLS_CERT", filepath.Join(dir, "nope"), "CHAINCODE_TLS_KEY", key), "CHAINCODE_TLS_CERT", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ServerConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ServerConfigFromEnv() error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("ServerConfigFromEnv() = %+v", c)
			}
		})
	}
}

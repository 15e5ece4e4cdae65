// Command gwprobe proves that the local Fabric network accepts work the way
// the application's client does: through the Fabric Gateway of each
// organisation's peer, with discovery choosing the endorsers. network/up.sh
// runs it as the readiness check; it is also a quick end-to-end test of
// $NETWORK_DIR/connection.json (the file the Go client reads).
//
//	gwprobe -profile connection.json -chaincode putstate -submit Put -timeout 60s
//
// With -submit, every selected org submits FN(key, value) through its own
// peer and waits for the commit; then every org evaluates -evaluate (default
// Get) of the key. Failures are retried until -timeout.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// profile is the subset of connection.json the probe needs; network/README.md
// documents the whole file.
type profile struct {
	Channel string `json:"channel"`
	Orgs    []org  `json:"orgs"`
}

type org struct {
	Name               string `json:"name"`
	MSPID              string `json:"mspId"`
	PeerAddress        string `json:"peerAddress"`
	TLSRootCertPath    string `json:"tlsRootCertPath"`
	ServerNameOverride string `json:"serverNameOverride"`
	CertPath           string `json:"certPath"`
	KeyPath            string `json:"keyPath"`
}

type config struct {
	profile   string
	chaincode string
	orgs      string
	submit    string
	evaluate  string
	args      string
	reachable bool
	timeout   time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.profile, "profile", os.Getenv("NETWORK_DIR")+"/connection.json", "connection profile written by network/up.sh")
	flag.StringVar(&c.chaincode, "chaincode", "putstate", "chaincode name")
	flag.StringVar(&c.orgs, "orgs", "", "comma-separated org names to probe through (default: all)")
	flag.StringVar(&c.submit, "submit", "Put", "function to submit with (key, value); empty: evaluate only")
	flag.StringVar(&c.evaluate, "evaluate", "Get", "function to evaluate; with -submit it gets the key, else -args")
	flag.StringVar(&c.args, "args", "", "comma-separated arguments for an evaluate-only probe")
	flag.BoolVar(&c.reachable, "reachable", false, "evaluate-only: an error answered by the chaincode itself counts as success (the server is reachable)")
	flag.DurationVar(&c.timeout, "timeout", 60*time.Second, "give up after this long")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "gwprobe:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	raw, err := os.ReadFile(c.profile)
	if err != nil {
		return err
	}
	var p profile
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("%s: %w", c.profile, err)
	}
	orgs, err := selectOrgs(p.Orgs, c.orgs)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(c.timeout)
	for _, o := range orgs {
		attempt := 0
		for {
			attempt++
			detail, err := probe(o, p.Channel, c, time.Until(deadline))
			if err == nil {
				fmt.Printf("gwprobe: %s via %s: %s (attempt %d)\n", o.MSPID, o.PeerAddress, detail, attempt)
				break
			}
			if time.Now().Add(time.Second).After(deadline) {
				return fmt.Errorf("%s via %s after %d attempts: %s", o.MSPID, o.PeerAddress, attempt, oneLine(err))
			}
			if attempt == 1 || attempt%10 == 0 {
				fmt.Fprintf(os.Stderr, "gwprobe: %s not ready yet (attempt %d): %s\n", o.MSPID, attempt, oneLine(err))
			}
			time.Sleep(time.Second)
		}
	}
	return nil
}

func selectOrgs(all []org, names string) ([]org, error) {
	if names == "" {
		if len(all) == 0 {
			return nil, errors.New("profile lists no orgs")
		}
		return all, nil
	}
	var out []org
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, o := range all {
			if o.Name == n || o.MSPID == n {
				out = append(out, o)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("org %q not in profile", n)
		}
	}
	return out, nil
}

func probe(o org, channel string, c config, budget time.Duration) (string, error) {
	conn, gw, err := connect(o)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	defer gw.Close()
	contract := gw.GetNetwork(channel).GetContract(c.chaincode)

	if c.submit == "" {
		var args []string
		if c.args != "" {
			args = strings.Split(c.args, ",")
		}
		out, err := contract.EvaluateTransaction(c.evaluate, args...)
		if err != nil && c.reachable && strings.Contains(err.Error(), "chaincode response") {
			return "reachable, the chaincode answered: " + oneLine(err), nil
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("evaluated %s: %d bytes", c.evaluate, len(out)), nil
	}

	key := "_probe/" + o.MSPID
	value := time.Now().UTC().Format(time.RFC3339Nano)
	start := time.Now()
	_, commit, err := contract.SubmitAsync(c.submit, client.WithArguments(key, value))
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(budget, 30*time.Second))
	defer cancel()
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return "", err
	}
	if !st.Successful {
		return "", fmt.Errorf("transaction %s committed invalid: %s", st.TransactionID, st.Code)
	}
	took := time.Since(start)
	got, err := contract.EvaluateTransaction(c.evaluate, key)
	if err != nil {
		return "", fmt.Errorf("evaluate after commit: %w", err)
	}
	if string(got) != value {
		return "", fmt.Errorf("%s(%s) = %q, want %q", c.evaluate, key, got, value)
	}
	return fmt.Sprintf("submitted %s in block %d in %s, read back", c.submit, st.BlockNumber, took.Round(time.Millisecond)), nil
}

func connect(o org) (*grpc.ClientConn, *client.Gateway, error) {
	caPEM, err := os.ReadFile(o.TLSRootCertPath)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("%s: no certificate", o.TLSRootCertPath)
	}
	conn, err := grpc.NewClient(o.PeerAddress,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, o.ServerNameOverride)))
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := os.ReadFile(o.CertPath)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	id, err := identity.NewX509Identity(o.MSPID, cert)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(o.KeyPath)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithHash(hash.SHA256),
		client.WithClientConnection(conn),
		client.WithEvaluateTimeout(10*time.Second), client.WithEndorseTimeout(15*time.Second),
		client.WithSubmitTimeout(10*time.Second), client.WithCommitStatusTimeout(20*time.Second))
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, gw, nil
}

// oneLine flattens err and the per-peer details the gateway attaches to it.
func oneLine(err error) string {
	s := err.Error()
	for _, d := range status.Convert(err).Details() {
		if e, ok := d.(*gateway.ErrorDetail); ok {
			s += fmt.Sprintf(" [%s %s: %s]", e.GetMspId(), e.GetAddress(), e.GetMessage())
		}
	}
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

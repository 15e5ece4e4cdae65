package fabricgw

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Profile is the connection profile network/up.sh writes
// ($NETWORK_DIR/connection.json; network/README.md documents it). Only the
// fields the client needs are read.
type Profile struct {
	Channel    string             `json:"channel"`
	NetworkDir string             `json:"networkDir"` // state, logs and launchers of network/up.sh
	Chaincodes []ProfileChaincode `json:"chaincodes"`
	Orgs       []ProfileOrg       `json:"orgs"`
	Orderers   []ProfileOrderer   `json:"orderers"`
}

// ProfileOrderer is an ordering node (the client reaches orderers only
// through the gateway peers; tests use these to find and stop them).
type ProfileOrderer struct {
	Name    string `json:"name"` // network/ctl.sh node name
	Address string `json:"address"`
}

// ProfileChaincode is a deployed chaincode.
type ProfileChaincode struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Policy  string `json:"policy"`
}

// ProfileOrg is one member organisation: its gateway peer and the client
// identity the ledger submits and evaluates with for that organisation.
type ProfileOrg struct {
	Name               string `json:"name"` // e.g. "producer"
	MSPID              string `json:"mspId"`
	PeerName           string `json:"peerName"`    // network/ctl.sh node name
	PeerAddress        string `json:"peerAddress"` // host:port of gateway, endorser and deliver services
	TLSRootCertPath    string `json:"tlsRootCertPath"`
	ServerNameOverride string `json:"serverNameOverride"`
	CertPath           string `json:"certPath"` // PEM X.509 certificate of the client identity
	KeyPath            string `json:"keyPath"`  // PEM PKCS#8 private key of the client identity
}

// LoadProfile reads a connection profile.
func LoadProfile(path string) (Profile, error) {
	var p Profile
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("connection profile: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("connection profile %s: %w", path, err)
	}
	if err := p.validate(); err != nil {
		return p, fmt.Errorf("connection profile %s: %w", path, err)
	}
	return p, nil
}

func (p Profile) validate() error {
	if p.Channel == "" {
		return errors.New("no channel")
	}
	if len(p.Orgs) == 0 {
		return errors.New("no organisations")
	}
	seen := map[string]bool{}
	for i, o := range p.Orgs {
		if o.MSPID == "" || o.PeerAddress == "" || o.TLSRootCertPath == "" || o.CertPath == "" || o.KeyPath == "" {
			return fmt.Errorf("orgs[%d] needs mspId, peerAddress, tlsRootCertPath, certPath and keyPath", i)
		}
		if seen[o.MSPID] {
			return fmt.Errorf("orgs[%d]: MSP %s listed twice", i, o.MSPID)
		}
		seen[o.MSPID] = true
	}
	return nil
}

// Org returns the organisation with the MSP id.
func (p Profile) Org(mspID string) (ProfileOrg, bool) {
	for _, o := range p.Orgs {
		if o.MSPID == mspID {
			return o, true
		}
	}
	return ProfileOrg{}, false
}

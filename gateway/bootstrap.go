package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/auth"
	"wasteledger/manifest"
)

// Bootstrap describes the first regulator of a fresh gateway: the
// organisation registered on the ledger and its administrator, who then
// registers every other organisation, permit and user through the API.
type Bootstrap struct {
	OrgID    string // unified social credit code; generated when empty
	OrgName  string // default 广东省生态环境厅
	Region   string // default 440000 (Guangdong)
	MSP      string // default RegulatorMSP
	Username string // default admin
}

// Credential is a user's sign-in, shown once.
type Credential struct {
	Username string    `json:"username"`
	Password string    `json:"password"`
	Role     auth.Role `json:"role"`
	Org      string    `json:"org"`
	OrgName  string    `json:"org_name"`
}

const metaBootstrap = "bootstrap"

// Bootstrap registers the first regulator and its administrator when the
// gateway has no user yet, and returns the administrator's credentials.
// With users present it does nothing and returns nil.
func (s *Server) Bootstrap(ctx context.Context, b Bootstrap) (*Credential, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return nil, err
	}
	if b.OrgName == "" {
		b.OrgName = "广东省生态环境厅"
	}
	if b.Region == "" {
		b.Region = "440000"
	}
	if b.MSP == "" {
		b.MSP = scenario.RegulatorMSP
	}
	if b.Username == "" {
		b.Username = "admin"
	}
	if b.OrgID == "" {
		b.OrgID = scenario.NewUSCC(b.Region)
	}
	o := manifest.Org{ID: b.OrgID, Name: b.OrgName, Region: b.Region, Roles: []manifest.Role{manifest.Regulator}, MSP: b.MSP}
	arg, _ := json.Marshal(o)
	if _, err := s.submit(ctx, chaincode.Caller{MSP: b.MSP, ID: "bootstrap"}, "RegisterOrg", arg); err != nil && manifest.CodeOf(err) != manifest.Conflict {
		return nil, fmt.Errorf("bootstrap: register %s: %w", b.OrgName, err)
	}
	u, password, err := s.CreateUser(ctx, b.OrgID, b.Username, auth.Admin, "")
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := s.store.SetMeta(ctx, metaBootstrap, u.Username); err != nil {
		return nil, err
	}
	return &Credential{Username: u.Username, Password: password, Role: auth.Admin, Org: b.OrgID, OrgName: b.OrgName}, nil
}

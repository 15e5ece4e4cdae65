package mobileapi

import (
	"context"
	"time"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/paper"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// Org names an organisation.
type Org struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Carrier is one planned leg.
type Carrier struct {
	Leg    int      `json:"leg"` // 1-based
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Permit string   `json:"permit"`
	Plates []string `json:"plates"`
}

// Line is a waste line as the phone lists it.
type Line struct {
	Line      int           `json:"line"`
	Code      string        `json:"code"`
	Name      string        `json:"name"` // the producer's name for it
	Packaging string        `json:"packaging"`
	Packages  int           `json:"packages"`
	Qty       int64         `json:"qty"`
	Unit      manifest.Unit `json:"unit"`
}

// Summary is a manifest as the phone shows it.
type Summary struct {
	ID             string          `json:"id"` // the 14-digit manifest number
	Version        int             `json:"version"`
	Hash           string          `json:"hash"` // of this version: the next statement's prev
	Status         manifest.Status `json:"status"`
	StatusName     paper.Label     `json:"status_name"`
	Stream         catalog.Stream  `json:"stream"`
	Producer       Org             `json:"producer"`
	Site           manifest.Site   `json:"site"`
	Carriers       []Carrier       `json:"carriers"`
	Receiver       Org             `json:"receiver"`
	ReceiverPermit string          `json:"receiver_permit,omitempty"`
	Custody        string          `json:"custody,omitempty"`
	Lines          []Line          `json:"lines"`
	Updated        time.Time       `json:"updated"`
}

// Next is the step the manifest waits for.
type Next struct {
	Step     manifest.Step `json:"step"`
	Name     paper.Label   `json:"name"`
	Handover bool          `json:"handover"`
	From     Org           `json:"from"`
	To       *Org          `json:"to,omitempty"`
	// Party tells whether the actor's organisation signs this step, and
	// Role on which side of the handover: "giver" or "taker".
	Party bool   `json:"party"`
	Role  string `json:"role,omitempty"`
}

// CheckLine is what the driver verifies of one line before signing.
type CheckLine struct {
	Line          int           `json:"line"`
	Code          string        `json:"code"`
	Waste         paper.Waste   `json:"waste"` // catalogue name and category, Chinese
	Name          string        `json:"name"`  // the producer's name for it
	Form          paper.Label   `json:"form"`
	Packaging     string        `json:"packaging"`
	PackagingName paper.Label   `json:"packaging_name"`
	Packages      int           `json:"packages"`
	Qty           int64         `json:"qty"`
	Unit          manifest.Unit `json:"unit"`
	Hazard        string        `json:"hazard"`
	Hazards       []paper.Label `json:"hazards"`
	Medical       string        `json:"medical,omitempty"`
	Generated     *time.Time    `json:"generated,omitempty"`
	Units         []string      `json:"units,omitempty"` // battery unit codes to match
}

// Checklist is what the driver must verify against the load.
type Checklist struct {
	Lines     []CheckLine `json:"lines"`
	Vehicles  []string    `json:"vehicles"`         // plates planned for the driver's leg
	Permit    string      `json:"permit,omitempty"` // that leg's transport permit
	Emergency string      `json:"emergency"`
}

func summarize(m *manifest.Manifest, hash string, orgs map[string]manifest.Org) Summary {
	org := func(id string) Org { return Org{ID: id, Name: orgs[id].Name} }
	s := Summary{ID: m.ID, Version: m.Version, Hash: hash, Status: m.Status, StatusName: paper.StatusName(m.Status), Stream: m.Stream,
		Producer: org(m.Producer), Site: m.Site, Receiver: org(m.Receiver), ReceiverPermit: m.ReceiverPermit, Custody: m.Custody, Updated: m.Updated,
		Carriers: []Carrier{}, Lines: []Line{}}
	for i, l := range m.Legs {
		s.Carriers = append(s.Carriers, Carrier{Leg: i + 1, ID: l.Carrier, Name: orgs[l.Carrier].Name, Permit: l.Permit, Plates: l.Plates})
	}
	for _, l := range m.Lines {
		s.Lines = append(s.Lines, Line{Line: l.No, Code: l.Code, Name: l.Name, Packaging: l.Packaging, Packages: l.Packages, Qty: l.Qty, Unit: l.Unit})
	}
	return s
}

func nextStep(m *manifest.Manifest, a auth.Actor, orgs map[string]manifest.Org) *Next {
	step, from, to, ok := m.NextStep()
	if !ok {
		return nil
	}
	n := &Next{Step: step, Name: paper.StepName(step), Handover: step.Handover(), From: Org{ID: from, Name: orgs[from].Name}}
	if to != "" {
		n.To = &Org{ID: to, Name: orgs[to].Name}
	}
	switch a.Org {
	case from:
		n.Party, n.Role = true, "giver"
	case to:
		n.Party, n.Role = true, "taker"
	}
	return n
}

// driverLeg is the index of the leg whose vehicles the actor drives now or
// next: the taking leg on pickup and relay when the actor takes, the
// carrying leg when the actor gives, else the first leg of the actor's
// organisation. -1 when the actor carries no leg.
func driverLeg(m *manifest.Manifest, a auth.Actor, next *Next) int {
	if next != nil && next.Party && next.Handover {
		if next.Role == "taker" && next.Step != manifest.StepDelivery {
			return m.Leg + 1
		}
		if next.Role == "giver" && next.Step != manifest.StepPickup {
			return m.Leg
		}
	}
	if m.Status == manifest.StatusInTransit && m.Leg >= 0 && m.Legs[m.Leg].Carrier == a.Org {
		return m.Leg
	}
	for i, l := range m.Legs {
		if l.Carrier == a.Org {
			return i
		}
	}
	return -1
}

func checklist(m *manifest.Manifest, leg int) Checklist {
	c := Checklist{Lines: []CheckLine{}, Vehicles: []string{}, Emergency: m.Emergency}
	for _, l := range m.Lines {
		c.Lines = append(c.Lines, CheckLine{Line: l.No, Code: l.Code, Waste: paper.WasteOf(l.Code), Name: l.Name, Form: paper.FormName(l.Form),
			Packaging: l.Packaging, PackagingName: paper.PackagingName(l.Packaging), Packages: l.Packages, Qty: l.Qty, Unit: l.Unit,
			Hazard: l.Hazard, Hazards: paper.HazardNames(l.Hazard), Medical: l.Medical, Generated: l.Generated, Units: l.Units})
	}
	if leg >= 0 && leg < len(m.Legs) {
		c.Vehicles = append(c.Vehicles, m.Legs[leg].Plates...)
		c.Permit = m.Legs[leg].Permit
	}
	return c
}

// codeKeys returns the custodial key ids of the organisations other than
// the actor's that sign the step, for a statement signed by code.
func (h *handlers) codeKeys(ctx context.Context, a auth.Actor, orgs ...string) map[string]string {
	if h.d.CodeKey == nil {
		return nil
	}
	out := map[string]string{}
	for _, o := range orgs {
		if o == "" || o == a.Org {
			continue
		}
		if kid, ok := h.d.CodeKey(ctx, o); ok {
			out[o] = kid
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

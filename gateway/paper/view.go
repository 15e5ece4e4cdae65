package paper

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
)

//go:embed print.html.tmpl
var templates embed.FS

var printTemplate = template.Must(template.New("print.html.tmpl").Funcs(template.FuncMap{
	"when": when,
}).ParseFS(templates, "print.html.tmpl"))

// when formats a time in China Standard Time, as the parties read it.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(manifest.China).Format("2006-01-02 15:04:05")
}

type orgView struct {
	ID, Name, Address, Contact string
}

type legView struct {
	No      int
	Org     orgView
	Permit  string
	Plates  string
	Current bool
}

type lineView struct {
	No         int
	Waste      Waste
	Name       string
	Form       Label
	Hazards    string
	Packaging  Label
	Packages   int
	Qty        int64
	Unit       manifest.Unit
	Medical    string
	Generated  time.Time
	Units      int
	OriginLine int
}

type receiptView struct {
	Line                      int
	Code                      string
	Weighed, Accepted, Refuse int64
	Unit                      manifest.Unit
	Decision                  Label
	Reason                    string
}

type processView struct {
	Line    int
	Code    string
	Method  string
	MethodN Label
	Qty     int64
	Unit    manifest.Unit
	Time    time.Time
	Outputs string
}

type flagView struct {
	Rule   Label
	Line   int
	Detail string
	At     time.Time
}

type sigView struct {
	Org, OrgName, Key, SignedBy string
}

type stepView struct {
	No         int
	Step       Label
	Time       time.Time
	Committed  time.Time
	From, To   orgView
	Vehicle    string
	Place      string
	TxID       string
	Digest     string
	Signatures []sigView
}

type printView struct {
	ID         string
	Version    int
	Hash       string
	Status     Label
	Stream     string
	Created    time.Time
	Updated    time.Time
	Producer   orgView
	Site       manifest.Site
	Legs       []legView
	Receiver   orgView
	Licence    string
	Method     string
	MethodName Label
	Approval   string
	Ref        *manifest.Ref
	Paper      *manifest.Paper
	Custody    string
	Lines      []lineView
	TotalKg    string
	Emergency  string
	Receipt    []receiptView
	Processed  []processView
	Flags      []flagView
	Steps      []stepView
	QR         template.HTML
	TicketURL  string
	Ticket     ticket.Ticket
	Printed    time.Time
	Viewer     string
}

func buildView(ctx context.Context, l ledger.Ledger, a auth.Actor, m *manifest.Manifest, doc []byte, t ticket.Ticket, url string, svg []byte, now time.Time) printView {
	orgs := Orgs(ctx, l, a, Parties(m)...)
	org := func(id string) orgView {
		o := orgs[id]
		return orgView{ID: id, Name: o.Name, Address: o.Address, Contact: o.Contact}
	}
	v := printView{
		ID: m.ID, Version: m.Version, Hash: manifest.Hash(doc), Status: StatusName(m.Status), Stream: string(m.Stream),
		Created: m.Created, Updated: m.Updated, Producer: org(m.Producer), Site: m.Site,
		Receiver: org(m.Receiver), Licence: m.ReceiverPermit, Method: m.Method, MethodName: MethodName(m.Method),
		Approval: m.Approval, Ref: m.Ref, Paper: m.Paper, Emergency: m.Emergency,
		// The SVG is rendered by package ticket from a bitmap: no
		// user-supplied markup (the URL in its title is escaped).
		QR:        template.HTML(svg),
		TicketURL: url, Ticket: t, Printed: now, Viewer: a.Org,
	}
	if m.Custody != "" {
		v.Custody = org(m.Custody).Name
		if v.Custody == "" {
			v.Custody = m.Custody
		}
	}
	for i, leg := range m.Legs {
		v.Legs = append(v.Legs, legView{No: i + 1, Org: org(leg.Carrier), Permit: leg.Permit, Plates: strings.Join(leg.Plates, "、"), Current: m.Status == manifest.StatusInTransit && m.Leg == i})
	}
	var grams int64
	for _, ln := range m.Lines {
		lv := lineView{No: ln.No, Waste: WasteOf(ln.Code), Name: ln.Name, Form: FormName(ln.Form), Packaging: PackagingName(ln.Packaging),
			Packages: ln.Packages, Qty: ln.Qty, Unit: ln.Unit, Medical: ln.Medical, Units: len(ln.Units), OriginLine: ln.OriginLine}
		var hz []string
		for _, h := range HazardNames(ln.Hazard) {
			hz = append(hz, h.ZH+" "+h.EN)
		}
		lv.Hazards = strings.Join(hz, "、")
		if ln.Generated != nil {
			lv.Generated = *ln.Generated
		}
		grams += manifest.Grams(ln.Qty, ln.Unit)
		v.Lines = append(v.Lines, lv)
	}
	v.TotalKg = fmt.Sprintf("%d.%03d", grams/1000, grams%1000)
	for _, r := range m.Receipt {
		code := ""
		if ln, ok := m.LineByNo(r.Line); ok {
			code = ln.Code
		}
		v.Receipt = append(v.Receipt, receiptView{Line: r.Line, Code: code, Weighed: r.Weighed, Accepted: r.Accepted, Refuse: r.Refused, Unit: r.Unit, Decision: DecisionName(r.Decision), Reason: r.Reason})
	}
	for _, p := range m.Processed {
		code := ""
		if ln, ok := m.LineByNo(p.Line); ok {
			code = ln.Code
		}
		var outs []string
		for _, o := range p.Outputs {
			outs = append(outs, fmt.Sprintf("%s %d %s", o.Material, o.Qty, o.Unit))
		}
		v.Processed = append(v.Processed, processView{Line: p.Line, Code: code, Method: p.Method, MethodN: MethodName(p.Method), Qty: p.Qty, Unit: p.Unit, Time: p.Time, Outputs: strings.Join(outs, "；")})
	}
	for _, f := range m.Flags {
		v.Flags = append(v.Flags, flagView{Rule: FlagName(f.Rule), Line: f.Line, Detail: f.Detail, At: f.At})
	}
	for i, s := range m.Steps {
		sv := stepView{No: i + 1, Step: StepName(s.Step), Time: s.Time, Committed: s.Committed, Vehicle: s.Vehicle, TxID: s.TxID, Digest: s.Digest}
		if s.From != "" {
			sv.From = org(s.From)
		}
		if s.To != "" {
			sv.To = org(s.To)
		}
		if p := s.Place; p != nil {
			sv.Place = fmt.Sprintf("%s°N %s°E", microDegrees(p.LatE6), microDegrees(p.LonE6))
			if p.Text != "" {
				sv.Place = p.Text + " (" + sv.Place + ")"
			}
		}
		for _, sig := range s.Signatures {
			sv.Signatures = append(sv.Signatures, sigView{Org: sig.Org, OrgName: orgs[sig.Org].Name, Key: sig.Key, SignedBy: signedByName(sig.SignedBy)})
		}
		v.Steps = append(v.Steps, sv)
	}
	return v
}

func signedByName(s string) string {
	switch s {
	case "device":
		return "本人设备签名 device"
	case "code":
		return "一次性验证码代签 one-time code"
	}
	return s
}

// microDegrees writes an integer micro-degree value as a decimal without
// floating point.
func microDegrees(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%06d", sign, v/1_000_000, v%1_000_000)
}

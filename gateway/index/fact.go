package index

import (
	"slices"
	"time"

	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// Fact is what the regulator's figures and the reconciliation rules read
// of one manifest: its current version flattened, with every time as Unix
// nanoseconds (0: has not happened). FactOf derives it from the manifest
// document; the index stores it in its tables and Facts reads it back, so
// the same pure functions run over crafted documents in tests and over the
// index in production.
type Fact struct {
	ID             string
	Version        int
	Hash           string
	Status         manifest.Status
	Stream         catalog.Stream
	Producer       string
	Receiver       string
	ReceiverPermit string
	Region         string // the producer's site, GB/T 2260
	Method         string // planned method
	Approval       string // cross-province approval number
	RefOriginal    string
	RefKind        string
	PaperNumber    string
	PaperCompleted string // YYYY-MM-DD
	Legs           []FactLeg
	Created        int64 // ledger time
	Updated        int64
	Signed         Milestone
	PickedUp       Milestone // the first pickup: the waste leaves the producer
	Delivered      Milestone
	Received       Milestone
	Closed         Milestone
	Cancelled      Milestone
	Flags          int
	Lines          []FactLine
	Followups      []FactFollowup
	Steps          []FactStep // only when read with Scan.Steps
}

// Milestone is when a step happened: At is the parties' statement time, Tx
// the ledger's commit time. Both 0 when it has not happened.
type Milestone struct {
	At int64
	Tx int64
}

// Done reports whether the step happened and was committed by asOf (Unix
// ns; 0 means no limit).
func (m Milestone) Done(asOf int64) bool { return m.Tx != 0 && (asOf == 0 || m.Tx <= asOf) }

// FactLeg is one planned carrier leg.
type FactLeg struct {
	Carrier string `json:"carrier"`
	Permit  string `json:"permit"`
}

// FactLine is a line with its receipt and processing.
type FactLine struct {
	No         int
	Code       string
	DeclaredG  int64
	Generated  int64 // medical lines: declared generation time
	OriginLine int
	Received   bool
	WeighedG   int64
	AcceptedG  int64
	RefusedG   int64
	Decision   manifest.Decision
	Units      []string // battery unit codes, sorted
	Processing *FactProcessing
}

// FactProcessing is what the receiver did with a line.
type FactProcessing struct {
	Method  string
	QtyG    int64
	At      int64 // statement time
	Tx      int64 // commit time of the process step
	Outputs []FactOutput
}

// FactOutput is a recovered material.
type FactOutput struct {
	Material string
	G        int64
}

// FactFollowup is a return or onward manifest carrying refused waste of a
// line.
type FactFollowup struct {
	Manifest string
	Kind     string
	Line     int
	Grams    int64
}

// FactStep is one signed step.
type FactStep struct {
	Step manifest.Step
	At   int64
	Tx   int64
	From string
	To   string
}

// Line returns line n.
func (f *Fact) Line(n int) *FactLine {
	for i := range f.Lines {
		if f.Lines[i].No == n {
			return &f.Lines[i]
		}
	}
	return nil
}

// FactOf derives the fact of a manifest version whose canonical bytes hash
// to hash. Steps are always included.
func FactOf(m *manifest.Manifest, hash string) Fact {
	f := Fact{
		ID: m.ID, Version: m.Version, Hash: hash, Status: m.Status, Stream: m.Stream,
		Producer: m.Producer, Receiver: m.Receiver, ReceiverPermit: m.ReceiverPermit,
		Region: m.Site.Region, Method: m.Method, Approval: m.Approval,
		Created: timeNS(m.Created), Updated: timeNS(m.Updated), Flags: len(m.Flags),
	}
	if m.Ref != nil {
		f.RefOriginal, f.RefKind = m.Ref.Original, m.Ref.Kind
	}
	if m.Paper != nil {
		f.PaperNumber, f.PaperCompleted = m.Paper.Number, m.Paper.Completed
	}
	for _, l := range m.Legs {
		f.Legs = append(f.Legs, FactLeg{Carrier: l.Carrier, Permit: l.Permit})
	}
	for _, s := range m.Steps {
		ms := Milestone{At: timeNS(s.Time), Tx: timeNS(s.Committed)}
		switch s.Step {
		case manifest.StepSign:
			f.Signed = ms
		case manifest.StepPickup:
			if f.PickedUp.Tx == 0 {
				f.PickedUp = ms
			}
		case manifest.StepDelivery:
			f.Delivered = ms
		case manifest.StepReceive:
			f.Received = ms
		case manifest.StepClose:
			f.Closed = ms
		case manifest.StepCancel:
			f.Cancelled = ms
		}
		f.Steps = append(f.Steps, FactStep{Step: s.Step, At: ms.At, Tx: ms.Tx, From: s.From, To: s.To})
	}
	for _, l := range m.Lines {
		fl := FactLine{No: l.No, Code: l.Code, DeclaredG: manifest.Grams(l.Qty, l.Unit), OriginLine: l.OriginLine}
		if l.Generated != nil {
			fl.Generated = timeNS(*l.Generated)
		}
		if len(l.Units) > 0 {
			fl.Units = slices.Clone(l.Units)
			slices.Sort(fl.Units)
		}
		if r, ok := m.ReceiptFor(l.No); ok {
			fl.Received = true
			fl.WeighedG = manifest.Grams(r.Weighed, r.Unit)
			fl.AcceptedG = manifest.Grams(r.Accepted, r.Unit)
			fl.RefusedG = manifest.Grams(r.Refused, r.Unit)
			fl.Decision = r.Decision
		}
		for _, p := range m.Processed {
			if p.Line != l.No {
				continue
			}
			fp := &FactProcessing{Method: p.Method, QtyG: manifest.Grams(p.Qty, p.Unit), At: timeNS(p.Time)}
			for _, s := range m.Steps {
				if s.Step == manifest.StepProcess && s.Time.Equal(p.Time) {
					fp.Tx = timeNS(s.Committed)
					break
				}
			}
			for _, o := range p.Outputs {
				fp.Outputs = append(fp.Outputs, FactOutput{Material: o.Material, G: manifest.Grams(o.Qty, o.Unit)})
			}
			fl.Processing = fp
		}
		f.Lines = append(f.Lines, fl)
	}
	for _, fu := range m.Followups {
		for _, l := range fu.Lines {
			f.Followups = append(f.Followups, FactFollowup{Manifest: fu.Manifest, Kind: fu.Kind, Line: l.Line, Grams: l.Grams})
		}
	}
	slices.SortFunc(f.Followups, func(a, b FactFollowup) int {
		if a.Manifest != b.Manifest {
			if a.Manifest < b.Manifest {
				return -1
			}
			return 1
		}
		return a.Line - b.Line
	})
	return f
}

// span is the earliest and latest time any figure may attribute to the
// manifest: the window a period must overlap for the manifest to count.
func (f *Fact) span() (first, last int64) {
	first, last = f.Created, f.Updated
	see := func(t int64) {
		if t == 0 {
			return
		}
		if first == 0 || t < first {
			first = t
		}
		if t > last {
			last = t
		}
	}
	for _, s := range f.Steps {
		see(s.At)
		see(s.Tx)
	}
	for _, l := range f.Lines {
		see(l.Generated)
		if p := l.Processing; p != nil {
			see(p.At)
			see(p.Tx)
		}
	}
	return first, last
}

// T converts a fact time to a time.Time (zero for 0).
func T(ns int64) time.Time { return nsTime(ns) }

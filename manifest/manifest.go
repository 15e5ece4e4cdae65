package manifest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"wasteledger/manifest/catalog"
	"wasteledger/manifest/jcs"
)

// Status is where a manifest is in its lifecycle.
type Status string

const (
	StatusDraft     Status = "draft"      // created by the producer, not yet binding
	StatusSigned    Status = "signed"     // signed by the producer, waiting for pickup
	StatusInTransit Status = "in_transit" // with a carrier
	StatusDelivered Status = "delivered"  // handed to the receiver, not yet weighed
	StatusReceived  Status = "received"   // weighed; accepted, partially refused or refused
	StatusProcessed Status = "processed"  // every accepted line utilised or disposed
	StatusClosed    Status = "closed"     // the producer confirmed the result
	StatusCancelled Status = "cancelled"  // withdrawn by the producer before pickup
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusDraft, StatusSigned, StatusInTransit, StatusDelivered, StatusReceived, StatusProcessed, StatusClosed, StatusCancelled}

// Open reports whether the manifest still moves or holds waste.
func (s Status) Open() bool { return s != StatusClosed && s != StatusCancelled }

// Form is the physical form of a waste (HJ 1259 废物形态).
type Form string

const (
	Solid     Form = "solid"      // 固态
	SemiSolid Form = "semi_solid" // 半固态
	Liquid    Form = "liquid"     // 液态
	Gas       Form = "gas"        // 气态 (in a container)
)

// Packagings lists the packaging types a line may name.
var Packagings = []string{"drum", "bag", "box", "tank", "ibc", "sharps_box", "pallet", "bulk", "cylinder", "other"}

// Unit is the unit of a line quantity. Quantities are integers: no floating
// point is ever stored.
type Unit string

const (
	Gram     Unit = "g"
	Kilogram Unit = "kg"
)

// Grams converts a quantity to grams.
func Grams(qty int64, u Unit) int64 {
	if u == Kilogram {
		return qty * 1000
	}
	return qty
}

// Site is where the waste leaves from.
type Site struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Region  string `json:"region"` // GB/T 2260
}

// Leg is one planned carrier, in order: the first takes the waste from the
// producer, each next one from the previous (联运, Art.17), the last hands it
// to the receiver.
type Leg struct {
	Carrier string   `json:"carrier"` // organisation id
	Permit  string   `json:"permit"`  // its transport permit number
	Plates  []string `json:"plates"`  // planned vehicles
}

// Line is one waste on the manifest.
type Line struct {
	No         int        `json:"line"` // 1, 2, …
	Code       string     `json:"code"` // national list code, or EV-BATTERY
	Name       string     `json:"name"` // the producer's name for it (行业俗称)
	Form       Form       `json:"form"`
	Hazard     string     `json:"hazard"`    // hazard characteristics, letters of the list entry, e.g. "T,I"
	Packaging  string     `json:"packaging"` // see Packagings
	Packages   int        `json:"packages"`  // number of packages
	Qty        int64      `json:"qty"`       // declared quantity
	Unit       Unit       `json:"unit"`
	Units      []string   `json:"units,omitempty"`     // battery unit codes (GB/T 34014)
	Medical    string     `json:"medical,omitempty"`   // medical category, on medical lines
	Generated  *time.Time `json:"generated,omitempty"` // declared generation time, on medical lines
	OriginLine int        `json:"origin_line,omitempty"`
}

// Ref links a manifest that carries refused waste to its original.
type Ref struct {
	Original string `json:"original"` // the original manifest number
	Kind     string `json:"kind"`     // "return" to the producer, or "onward" to another receiver
}

// Paper records that a transfer ran on paper and is entered afterwards
// (Art.20 ¶2: within 10 working days after completion).
type Paper struct {
	Number    string `json:"number"`    // the paper form's number
	Completed string `json:"completed"` // YYYY-MM-DD the transfer completed
}

// Draft is what a producer submits to create a manifest.
type Draft struct {
	Producer       string `json:"producer"`
	Site           Site   `json:"site"`
	Legs           []Leg  `json:"legs"`
	Receiver       string `json:"receiver"`
	ReceiverPermit string `json:"receiver_permit"`
	Lines          []Line `json:"lines"`
	Method         string `json:"method"`    // planned utilisation/disposal method code
	Emergency      string `json:"emergency"` // emergency measures (应急措施)
	Ref            *Ref   `json:"ref,omitempty"`
	Approval       string `json:"approval,omitempty"` // cross-province transfer approval number
	Paper          *Paper `json:"paper,omitempty"`
	// Request is the client's id for this creation: a second creation with
	// the same id by the same producer returns the first manifest instead
	// of making another, so a submission whose outcome was lost can be
	// repeated safely.
	Request string `json:"request,omitempty"`
}

// Manifest is a transfer manifest with everything that happened to it.
type Manifest struct {
	ID      string         `json:"id"`
	Version int            `json:"version"` // 1 at creation, +1 per transaction
	Status  Status         `json:"status"`
	Stream  catalog.Stream `json:"stream"`
	Draft
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	Custody   string       `json:"custody,omitempty"` // organisation holding the waste now
	Leg       int          `json:"leg"`               // index of the carrying leg while in transit, else -1
	Steps     []Record     `json:"steps,omitempty"`
	Receipt   []Receipt    `json:"receipt,omitempty"`
	Processed []Processing `json:"processed,omitempty"`
	Flags     []Flag       `json:"flags,omitempty"`
	Followups []Followup   `json:"followups,omitempty"`
}

// Record is one signed step, kept with the exact statement and signatures
// so that anyone can verify it offline.
type Record struct {
	Step       Step              `json:"step"`
	TxID       string            `json:"tx_id"`
	Committed  time.Time         `json:"committed"` // ledger transaction time
	Time       time.Time         `json:"time"`      // the parties' time in the statement
	From       string            `json:"from,omitempty"`
	To         string            `json:"to,omitempty"`
	Vehicle    string            `json:"vehicle,omitempty"`
	Place      *Place            `json:"place,omitempty"`
	Digest     string            `json:"digest"`    // base64url SHA-256 of Statement
	Statement  string            `json:"statement"` // canonical JSON, as signed
	Signatures []SignatureRecord `json:"signatures"`
}

// SignatureRecord is one verified party signature.
type SignatureRecord struct {
	Org      string `json:"org"`
	Key      string `json:"kid"`
	Sig      string `json:"sig"`
	SignedBy string `json:"signed_by"` // "device" or "code"
}

// Decision is the receiver's decision on a line.
type Decision string

const (
	Accepted         Decision = "accepted"
	PartiallyRefused Decision = "partially_refused"
	Refused          Decision = "refused"
)

// Receipt is what the receiver recorded for a line.
type Receipt struct {
	Line     int      `json:"line"`
	Weighed  int64    `json:"weighed"`  // weighed quantity, in the line's unit
	Accepted int64    `json:"accepted"` // accepted quantity, in the line's unit
	Refused  int64    `json:"refused"`  // Weighed − Accepted
	Unit     Unit     `json:"unit"`
	Decision Decision `json:"decision"`
	Reason   string   `json:"reason,omitempty"`
}

// Processing is what the receiver did with an accepted line.
type Processing struct {
	Line    int       `json:"line"`
	Method  string    `json:"method"`
	Qty     int64     `json:"qty"`
	Unit    Unit      `json:"unit"`
	Time    time.Time `json:"time"`
	Outputs []Output  `json:"outputs,omitempty"`
}

// Output is material recovered from a processed line.
type Output struct {
	Material string `json:"material"` // e.g. "lead", "base oil", "lithium carbonate"
	Qty      int64  `json:"qty"`
	Unit     Unit   `json:"unit"`
}

// Flag is a finding recorded on the manifest at a transition. Flags are
// never removed.
type Flag struct {
	Rule   string    `json:"rule"`
	Line   int       `json:"line,omitempty"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

// Flag rules.
const (
	FlagDiscrepancy = "quantity_discrepancy" // received differs from declared beyond tolerance
	FlagMedicalLate = "medical_48h"          // medical waste delivered after the limit
	FlagRefused     = "refused"              // the receiver refused some quantity
)

// Followup is a manifest that carries refused waste of this one.
type Followup struct {
	Manifest string         `json:"manifest"`
	Kind     string         `json:"kind"`
	Lines    []FollowupLine `json:"lines"`
}

// FollowupLine is how much of an original line a follow-up carries.
type FollowupLine struct {
	Line  int   `json:"line"`
	Grams int64 `json:"grams"`
}

// Hash is the digest of a stored manifest version: base64url SHA-256 of its
// canonical JSON. Statements name it as "prev".
func Hash(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Encode returns the canonical JSON of the manifest, the form stored on the
// ledger and hashed.
func (m *Manifest) Encode() ([]byte, error) { return jcs.Marshal(m) }

// LineByNo returns the line with number n.
func (m *Manifest) LineByNo(n int) (*Line, bool) {
	for i := range m.Lines {
		if m.Lines[i].No == n {
			return &m.Lines[i], true
		}
	}
	return nil, false
}

// ReceiptFor returns the receipt of line n.
func (m *Manifest) ReceiptFor(n int) (*Receipt, bool) {
	for i := range m.Receipt {
		if m.Receipt[i].Line == n {
			return &m.Receipt[i], true
		}
	}
	return nil, false
}

// CarriesUnit reports whether a line of the manifest lists the battery unit.
func (m *Manifest) CarriesUnit(code string) bool {
	for _, l := range m.Lines {
		for _, u := range l.Units {
			if u == code {
				return true
			}
		}
	}
	return false
}

var numberPattern = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})(\d{6})$`)

// Number builds a 14-digit manifest number (Art.15): year, province and city
// of the producer (the first four digits of its GB/T 2260 code), and a
// 6-digit serial counted per city and year.
func Number(year int, region string, serial int) (string, error) {
	if year < 2000 || year > 9999 {
		return "", Errorf(Invalid, "year %d out of range", year)
	}
	if len(region) < 4 {
		return "", Errorf(Invalid, "region %q too short", region)
	}
	if serial < 1 || serial > 999999 {
		return "", Errorf(RuleViolation, "the 6-digit serial of %s for %d is exhausted", region[:4], year)
	}
	return fmt.Sprintf("%04d%s%06d", year, region[:4], serial), nil
}

// ValidNumber checks the form of a manifest number.
func ValidNumber(s string) error {
	m := numberPattern.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("manifest number must be 14 digits (year, province, city, 6-digit serial), got %q", s)
	}
	if m[4] == "000000" {
		return fmt.Errorf("manifest number %q has serial 000000", s)
	}
	return nil
}

// SeriesKey names the counter a manifest number is drawn from: year and the
// first four digits of the producer's region.
func SeriesKey(year int, region string) string { return fmt.Sprintf("%04d%s", year, region[:4]) }

func text(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return FieldError(Invalid, field, "%s is required", field)
	}
	if !utf8.ValidString(s) || len(s) > max {
		return FieldError(Invalid, field, "%s must be valid UTF-8 of at most %d bytes", field, max)
	}
	return nil
}

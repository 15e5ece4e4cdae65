package manifest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"wasteledger/manifest/catalog"
)

// Role is what an organisation may do on a manifest.
type Role string

const (
	Producer  Role = "producer"  // 移出人: creates and signs manifests, hands waste to carriers
	Carrier   Role = "carrier"   // 承运人: carries waste, takes and gives handovers
	Receiver  Role = "receiver"  // 接受人: a licensed utilisation or disposal plant
	Regulator Role = "regulator" // 生态环境部门: registers parties and permits, audits
)

// Roles lists every role.
var Roles = []Role{Producer, Carrier, Receiver, Regulator}

// Org is a registered organisation.
type Org struct {
	ID         string    `json:"id"`     // 统一社会信用代码, 18 characters (GB 32100-2015)
	Name       string    `json:"name"`   // legal name
	Region     string    `json:"region"` // GB/T 2260 code of its registered site, e.g. "440111"
	Roles      []Role    `json:"roles"`  // at least one
	MSP        string    `json:"msp"`    // the ledger member that submits on its behalf, e.g. "ProducerMSP"
	Address    string    `json:"address,omitempty"`
	Contact    string    `json:"contact,omitempty"` // a phone number or mailbox of the organisation, not of a person
	Registered time.Time `json:"registered"`
}

// Has reports whether the organisation holds role r.
func (o Org) Has(r Role) bool { return slices.Contains(o.Roles, r) }

// Validate checks an organisation before registration.
func (o Org) Validate() error {
	if err := ValidUSCC(o.ID); err != nil {
		return FieldError(Invalid, "id", "%v", err)
	}
	if strings.TrimSpace(o.Name) == "" || len(o.Name) > 200 {
		return FieldError(Invalid, "name", "name is required (at most 200 bytes)")
	}
	if err := catalog.ValidRegion(o.Region); err != nil {
		return FieldError(Invalid, "region", "%v", err)
	}
	if len(o.Roles) == 0 {
		return FieldError(Invalid, "roles", "at least one role is required")
	}
	for i, r := range o.Roles {
		if !slices.Contains(Roles, r) {
			return FieldError(Invalid, fmt.Sprintf("roles[%d]", i), "unknown role %q (want producer, carrier, receiver or regulator)", r)
		}
		if slices.Index(o.Roles, r) != i {
			return FieldError(Invalid, fmt.Sprintf("roles[%d]", i), "role %q listed twice", r)
		}
	}
	if o.MSP == "" || len(o.MSP) > 64 {
		return FieldError(Invalid, "msp", "msp is required (at most 64 bytes)")
	}
	if len(o.Address) > 500 || len(o.Contact) > 100 {
		return FieldError(Invalid, "address", "address or contact too long")
	}
	return nil
}

// usccChars is the GB 32100-2015 code alphabet: digits and upper-case
// letters without I, O, Z, S and V. A character's value is its index.
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// USCCCheck returns the check character for the first 17 characters of a
// unified social credit code.
func USCCCheck(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("need 17 characters, got %d", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccChars, first17[i])
		if v < 0 {
			return 0, fmt.Errorf("character %d %q is not in the code alphabet (digits and A–Y without I, O, S, V, Z)", i+1, first17[i])
		}
		sum += v * usccWeights[i]
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return usccChars[c], nil
}

// ValidUSCC checks a unified social credit code (统一社会信用代码): 18
// characters of the GB 32100-2015 alphabet, digits 3–8 an administrative
// division code, and the check character.
func ValidUSCC(s string) error {
	if len(s) != 18 {
		return fmt.Errorf("unified social credit code must be 18 characters, got %d", len(s))
	}
	for i := 2; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("unified social credit code: characters 3–8 must be a region code (digits)")
		}
	}
	want, err := USCCCheck(s[:17])
	if err != nil {
		return fmt.Errorf("unified social credit code: %v", err)
	}
	if s[17] != want {
		return fmt.Errorf("unified social credit code: check character is %q, want %q", s[17], want)
	}
	return nil
}

// KeyKind says who holds a party key.
type KeyKind string

const (
	Person    KeyKind = "person"    // a person's key on their own device
	Device    KeyKind = "device"    // a registered device, e.g. a weighbridge terminal or a driver's phone
	Custodial KeyKind = "custodial" // held by the gateway for an organisation without a device; used only to countersign after a one-time code ("sign by code")
)

// Key is a party public key registered on the ledger.
type Key struct {
	ID         string     `json:"kid"`    // RFC 7638 thumbprint of the JWK
	Org        string     `json:"org"`    // the organisation it signs for
	Holder     string     `json:"holder"` // who or what holds it: a user id or device id, never a personal name
	Kind       KeyKind    `json:"kind"`
	JWK        []byte     `json:"jwk"` // the public JWK, canonical JSON, base64 in JSON
	Registered time.Time  `json:"registered"`
	Revoked    *time.Time `json:"revoked,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	// MSP is the ledger member of Org, copied when the key is registered
	// (organisations never change), so that a step need not read the
	// organisation to know who may submit for it. Empty on keys registered
	// before it existed.
	MSP string `json:"msp,omitempty"`
}

// ActiveAt reports whether the key may sign at t.
func (k Key) ActiveAt(t time.Time) bool {
	return !t.Before(k.Registered) && (k.Revoked == nil || t.Before(*k.Revoked))
}

// SignedBy tells how a signature was made, from the kind of its key: "code"
// when the gateway countersigned with a custodial key after the party typed
// a one-time code, "device" otherwise.
func (k Key) SignedBy() string {
	if k.Kind == Custodial {
		return "code"
	}
	return "device"
}

// ValidateKey checks a key registration (the JWK itself is parsed by the
// caller, which computes ID from it).
func ValidateKey(k Key) error {
	if err := ValidUSCC(k.Org); err != nil {
		return FieldError(Invalid, "org", "%v", err)
	}
	if strings.TrimSpace(k.Holder) == "" || len(k.Holder) > 128 {
		return FieldError(Invalid, "holder", "holder is required (at most 128 bytes)")
	}
	switch k.Kind {
	case Person, Device, Custodial:
	default:
		return FieldError(Invalid, "kind", "unknown key kind %q (want person, device or custodial)", k.Kind)
	}
	return nil
}

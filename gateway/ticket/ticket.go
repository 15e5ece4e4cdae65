// Package ticket issues and verifies the QR tickets printed on paper
// manifests (DESIGN.md §3): a compact JWS (RFC 7515), ES256, signed by the
// gateway, naming a manifest and the hash of the version it was printed
// from. Anyone holding the gateway's public keys (/.well-known/jwks.json)
// verifies a ticket offline, so a forged paper manifest is detected at the
// roadside, and a paper printed from an older version is recognised as
// stale as soon as the phone is online.
//
// A ticket is deliberately small so that its QR code stays scannable at
// print size: the header is {"alg":"ES256","kid":…,"typ":"wl-ticket+jwt"}
// and the claims are {iss, mid, h, v, st, iat, exp}.
//
// The package is pure: no I/O, no clock (callers pass the time), and the
// only randomness is the ECDSA nonce.
package ticket

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// Keyring is what the package needs of the gateway's keys: the current
// signing key and the public keys it has published by key id. The
// gateway's auth.Keyring implements it.
type Keyring interface {
	Signing() (kid string, key *ecdsa.PrivateKey)
	Public(kid string) (*ecdsa.PublicKey, bool)
}

// Protocol constants.
const (
	Algorithm     = "ES256"
	Type          = "wl-ticket+jwt" // the JOSE "typ": keeps access tokens and tickets apart
	DefaultIssuer = "wasteledger"
	// DefaultTTL is how long a printed ticket verifies. A paper manifest
	// travels with the waste from signing to delivery; the receiver has 5
	// working days to confirm (DOMAIN.md §1.6), statements may wait 7 days
	// offline: 30 days covers every step a paper is scanned for.
	DefaultTTL = 30 * 24 * time.Hour
	// MaxTokenBytes bounds what Verify reads. A real ticket is ~360 bytes.
	MaxTokenBytes = 1024
	// MaxIssuedAhead is how far in the future iat may be (clock skew
	// between gateway replicas).
	MaxIssuedAhead = 5 * time.Minute
)

// Ticket is what a QR ticket says.
type Ticket struct {
	Issuer   string
	Manifest string          // the 14-digit manifest number
	Hash     string          // manifest.Hash of the stored version printed
	Version  int             // that version's number
	Status   manifest.Status // its status
	Issued   time.Time
	Expires  time.Time
	KeyID    string // the gateway key that signed it (set by Verify; Issue uses the keyring's)
}

// ForManifest is the ticket for a stored manifest version: m decoded from
// doc, hash = manifest.Hash(doc).
func ForManifest(m *manifest.Manifest, hash, issuer string, now time.Time, ttl time.Duration) Ticket {
	if issuer == "" {
		issuer = DefaultIssuer
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	now = now.UTC().Truncate(time.Second)
	return Ticket{Issuer: issuer, Manifest: m.ID, Hash: hash, Version: m.Version, Status: m.Status, Issued: now, Expires: now.Add(ttl)}
}

// Current reports whether the ticket names the version whose hash is
// current; a ticket for an older version is stale (its paper was printed
// before the last step).
func (t Ticket) Current(hash string) bool { return t.Hash == hash }

// header and claims are the wire forms. Field order is the output order.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type claims struct {
	Iss string          `json:"iss"`
	Mid string          `json:"mid"`
	H   string          `json:"h"`
	V   int             `json:"v"`
	St  manifest.Status `json:"st"`
	Iat int64           `json:"iat"`
	Exp int64           `json:"exp"`
}

var b64 = base64.RawURLEncoding.Strict()

// Issue signs t with the keyring's signing key and returns the compact
// token header.payload.signature.
func Issue(kr Keyring, t Ticket) (string, error) {
	kid, key := kr.Signing()
	if kid == "" || key == nil {
		return "", errors.New("ticket: issue: the keyring has no signing key")
	}
	c := claims{Iss: t.Issuer, Mid: t.Manifest, H: t.Hash, V: t.Version, St: t.Status, Iat: t.Issued.Unix(), Exp: t.Expires.Unix()}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("ticket: issue: %s", err.Detail)
	}
	if c.Exp <= c.Iat {
		return "", errors.New("ticket: issue: expiry is not after issue time")
	}
	hb, err := json.Marshal(header{Alg: Algorithm, Kid: kid, Typ: Type})
	if err != nil {
		return "", fmt.Errorf("ticket: issue: %w", err)
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("ticket: issue: %w", err)
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sig, err := signature.Sign(nil, key, []byte(input))
	if err != nil {
		return "", fmt.Errorf("ticket: issue: %w", err)
	}
	return input + "." + sig, nil
}

// Verify checks a token and returns its ticket. It fails with an *Error
// (problem code bad_ticket) unless the token is exactly three unpadded
// base64url parts, its header is {"alg":"ES256","kid":…,"typ":"wl-ticket+jwt"}
// and nothing else, the key id is one of the keyring's, the signature is
// a valid P1363 ES256 signature over header.payload, the claims are
// well-formed, iss is issuer, and now is before exp. Staleness needs the
// ledger and is the caller's (Ticket.Current).
func Verify(kr Keyring, token, issuer string, now time.Time) (Ticket, error) {
	if issuer == "" {
		issuer = DefaultIssuer
	}
	if len(token) == 0 {
		return Ticket{}, fail(Malformed, "the ticket is empty")
	}
	if len(token) > MaxTokenBytes {
		return Ticket{}, fail(Malformed, "the ticket is longer than %d bytes", MaxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Ticket{}, fail(Malformed, "a ticket has three dot-separated parts, this one %d", len(parts))
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return Ticket{}, fail(Malformed, "header is not unpadded base64url")
	}
	var h header
	if err := strict(hb, &h); err != nil {
		return Ticket{}, fail(Malformed, "header: %v", err)
	}
	if h.Alg != Algorithm {
		return Ticket{}, fail(BadAlgorithm, "algorithm %q is not accepted; tickets are %s", h.Alg, Algorithm)
	}
	if h.Typ != Type {
		return Ticket{}, fail(Malformed, "type %q is not a ticket (%s)", h.Typ, Type)
	}
	pub, ok := kr.Public(h.Kid)
	if h.Kid == "" || !ok {
		return Ticket{}, fail(UnknownKey, "key %q is not one of the gateway's published keys", h.Kid)
	}
	if err := signature.Verify(pub, []byte(parts[0]+"."+parts[1]), parts[2]); err != nil {
		return Ticket{}, fail(BadSignature, "the signature does not verify: the ticket was altered or not issued by this gateway")
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return Ticket{}, fail(Malformed, "payload is not unpadded base64url")
	}
	var c claims
	if err := strict(cb, &c); err != nil {
		return Ticket{}, fail(Malformed, "claims: %v", err)
	}
	if err := c.validate(); err != nil {
		return Ticket{}, err
	}
	if c.Iss != issuer {
		return Ticket{}, fail(WrongIssuer, "issued by %q, not %q", c.Iss, issuer)
	}
	t := Ticket{Issuer: c.Iss, Manifest: c.Mid, Hash: c.H, Version: c.V, Status: c.St,
		Issued: time.Unix(c.Iat, 0).UTC(), Expires: time.Unix(c.Exp, 0).UTC(), KeyID: h.Kid}
	if err := t.CheckTimes(now); err != nil {
		return t, err
	}
	return t, nil
}

// CheckTimes refuses a ticket that has expired at now or is issued
// further ahead of now than MaxIssuedAhead: the checks of Verify that
// depend on the time.
func (t Ticket) CheckTimes(now time.Time) error {
	if !now.Before(t.Expires) {
		return fail(Expired, "the ticket expired at %s", t.Expires.Format(time.RFC3339))
	}
	if t.Issued.After(now.Add(MaxIssuedAhead)) {
		return fail(NotYetValid, "the ticket is issued in the future (%s)", t.Issued.Format(time.RFC3339))
	}
	return nil
}

func (c claims) validate() *Error {
	switch {
	case c.Iss == "" || len(c.Iss) > 100:
		return fail(Malformed, "iss is required")
	case manifest.ValidNumber(c.Mid) != nil:
		return fail(Malformed, "mid %q is not a 14-digit manifest number", c.Mid)
	case !validHash(c.H):
		return fail(Malformed, "h is not a base64url SHA-256")
	case c.V < 1:
		return fail(Malformed, "v must be at least 1")
	case !slices.Contains(manifest.Statuses, c.St):
		return fail(Malformed, "st %q is not a manifest status", c.St)
	case c.Iat <= 0 || c.Exp <= 0:
		return fail(Malformed, "iat and exp are required")
	}
	return nil
}

func validHash(h string) bool {
	if len(h) != 43 {
		return false
	}
	b, err := b64.DecodeString(h)
	return err == nil && len(b) == 32
}

// strict decodes exactly one JSON object with no unknown members.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// URL is the link a QR code carries: the driver's web app with the token
// in the fragment, which browsers never send to a server.
func URL(base, token string) string {
	return strings.TrimRight(base, "/") + "/m/#t=" + token
}

// FromURL extracts a token from what a scanner or a paste produced: a
// ticket URL (…#t=<token>, or ?t=<token>) or the bare token.
func FromURL(s string) string {
	s = strings.TrimSpace(s)
	for _, mark := range []string{"#t=", "?t=", "&t="} {
		if i := strings.LastIndex(s, mark); i >= 0 {
			s = s[i+len(mark):]
			if j := strings.IndexAny(s, "&#"); j >= 0 {
				s = s[:j]
			}
			return s
		}
	}
	return s
}

package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"time"

	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// ExportFormat names the JSON Lines export format in its header.
const ExportFormat = "wasteledger-export/1"

// Export records, one per line:
//
//	{"type":"header", …}                       first
//	{"type":"key", "key":{manifest.Key}}        every key that signed a step
//	{"type":"manifest", "id":…, "versions":[…]} every manifest, with every version
//	{"type":"end", "manifests":n, "keys":k, "sha256":…} last: the SHA-256 of every line before it
type record struct {
	Type string `json:"type"`
	// header
	Format    string     `json:"format,omitempty"`
	Region    string     `json:"region,omitempty"`
	Period    string     `json:"period,omitempty"`
	From      *time.Time `json:"from,omitempty"`
	To        *time.Time `json:"to,omitempty"`
	Generated *time.Time `json:"generated,omitempty"`
	Ledger    *LedgerRef `json:"ledger,omitempty"`
	// key
	Key *manifest.Key `json:"key,omitempty"`
	// manifest
	ID       string       `json:"id,omitempty"`
	Versions []VersionDoc `json:"versions,omitempty"`
	// end
	Manifests int    `json:"manifests,omitempty"`
	Keys      int    `json:"keys,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
}

// LedgerRef identifies the ledger an export comes from.
type LedgerRef struct {
	Kind        string `json:"kind"` // embedded or fabric
	ID          string `json:"id,omitempty"`
	Checkpoint  string `json:"checkpoint,omitempty"` // the latest signed checkpoint (embedded)
	VerifierKey string `json:"verifier_key,omitempty"`
	TreeSize    uint64 `json:"tree_size,omitempty"`
}

// Writer writes an export.
type Writer struct {
	w     *bufio.Writer
	h     hash.Hash
	keys  int
	mans  int
	lines int
	err   error
}

// NewWriter starts an export with its header.
func NewWriter(w io.Writer, region, period string, from, to, generated time.Time, ref *LedgerRef) *Writer {
	x := &Writer{w: bufio.NewWriterSize(w, 64<<10), h: sha256.New()}
	x.write(record{Type: "header", Format: ExportFormat, Region: region, Period: period, From: &from, To: &to, Generated: &generated, Ledger: ref})
	return x
}

func (x *Writer) write(r record) {
	if x.err != nil {
		return
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if x.err = enc.Encode(r); x.err != nil {
		return
	}
	x.h.Write(b.Bytes())
	x.lines++
	_, x.err = x.w.Write(b.Bytes())
}

// Key writes a public key.
func (x *Writer) Key(k manifest.Key) error {
	x.keys++
	k.MSP = "" // not part of wasteledger-export/1: verifiers need the key, not who submits for it
	x.write(record{Type: "key", Key: &k})
	return x.err
}

// Manifest writes a manifest's versions.
func (x *Writer) Manifest(id string, vs []VersionDoc) error {
	x.mans++
	x.write(record{Type: "manifest", ID: id, Versions: vs})
	if x.err == nil && x.mans%64 == 0 {
		x.err = x.w.Flush()
	}
	return x.err
}

// Close writes the trailer and flushes.
func (x *Writer) Close() error {
	sum := hex.EncodeToString(x.h.Sum(nil))
	x.write(record{Type: "end", Manifests: x.mans, Keys: x.keys, SHA256: sum})
	if x.err != nil {
		return x.err
	}
	return x.w.Flush()
}

// Report is the outcome of VerifyExport.
type Report struct {
	Region     string `json:"region"`
	Period     string `json:"period"`
	Manifests  int    `json:"manifests"`
	Versions   int    `json:"versions"`
	Steps      int    `json:"steps"`
	Signatures int    `json:"signatures"`
	Keys       int    `json:"keys"`
	Lines      int    `json:"lines"`
	Failure    string `json:"failure,omitempty"` // the first failure, naming its line and record
}

// ExportError names the first record of an export that does not verify.
type ExportError struct {
	Line   int    // 1-based line of the export
	Record string // "header", "key <kid>", "manifest <id>", "end"
	What   string
}

func (e *ExportError) Error() string {
	return fmt.Sprintf("export line %d (%s): %s", e.Line, e.Record, e.What)
}

// VerifyExport re-verifies an export offline, with only the keys it
// contains: each key's id is its JWK thumbprint; every manifest version's
// document hashes to its recorded hash; versions follow each other, each
// adding at most one step whose statement hashes to its digest and names
// the previous version's hash as prev; every signature verifies with the
// key of its party, active at the step's commit; and the trailer's counts
// and SHA-256 match the lines before it. The error is an *ExportError
// naming the first failure; the report counts what was checked.
func VerifyExport(r io.Reader) (Report, error) {
	var rep Report
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	h := sha256.New()
	keys := map[string]manifest.Key{}
	keyFn := func(kid string) (manifest.Key, error) {
		k, ok := keys[kid]
		if !ok {
			return k, fmt.Errorf("key %s is not in the export", kid)
		}
		return k, nil
	}
	fail := func(name, format string, args ...any) (Report, error) {
		e := &ExportError{Line: rep.Lines, Record: name, What: fmt.Sprintf(format, args...)}
		rep.Failure = e.Error()
		return rep, e
	}
	ended := false
	for sc.Scan() {
		line := sc.Bytes()
		rep.Lines++
		if ended {
			return fail("end", "data after the trailer")
		}
		var rec record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return fail("?", "not a valid record: %v", err)
		}
		switch {
		case rep.Lines == 1 && rec.Type != "header":
			return fail(rec.Type, "the first record must be the header")
		case rec.Type == "header":
			if rep.Lines != 1 {
				return fail("header", "a second header")
			}
			if rec.Format != ExportFormat {
				return fail("header", "format %q, want %q", rec.Format, ExportFormat)
			}
			rep.Region, rep.Period = rec.Region, rec.Period
		case rec.Type == "key":
			if rec.Key == nil {
				return fail("key", "no key")
			}
			name := "key " + rec.Key.ID
			pub, err := signature.ParsePublicJWK(rec.Key.JWK)
			if err != nil {
				return fail(name, "JWK does not parse: %v", err)
			}
			if t := signature.Thumbprint(pub); t != rec.Key.ID {
				return fail(name, "JWK thumbprint is %s, not the key id", t)
			}
			keys[rec.Key.ID] = *rec.Key
			rep.Keys++
		case rec.Type == "manifest":
			name := "manifest " + rec.ID
			if len(rec.Versions) == 0 {
				return fail(name, "no versions")
			}
			checks, first := checkVersions(rec.ID, rec.Versions, keyFn)
			if first != "" {
				return fail(name, "%s", first)
			}
			rep.Manifests++
			rep.Versions += len(checks)
			for _, c := range checks {
				if c.Step != nil {
					rep.Steps++
					rep.Signatures += len(c.Step.Signatures)
				}
			}
		case rec.Type == "end":
			if rec.Manifests != rep.Manifests || rec.Keys != rep.Keys {
				return fail("end", "trailer counts %d manifests and %d keys, the export has %d and %d", rec.Manifests, rec.Keys, rep.Manifests, rep.Keys)
			}
			if sum := hex.EncodeToString(h.Sum(nil)); sum != rec.SHA256 {
				return fail("end", "the lines before the trailer hash to %s, the trailer says %s", sum, rec.SHA256)
			}
			ended = true
		default:
			return fail(rec.Type, "unknown record type %q", rec.Type)
		}
		h.Write(line)
		h.Write([]byte{'\n'})
	}
	if err := sc.Err(); err != nil {
		return fail("?", "read: %v", err)
	}
	if !ended {
		rep.Lines++
		return fail("end", "the export is truncated: no trailer")
	}
	return rep, nil
}

package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"wasteledger/chaincode"
	"wasteledger/manifest/jcs"
)

// recordVersion is the "v" field of every transaction record. Bump it (and
// keep decoding the old one) if the record ever changes shape.
const recordVersion = 1

// timeLayout is how times appear in records and block headers: RFC 3339,
// UTC, always six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// WriteRef is one entry of a recorded write set: the key and the SHA-256 of
// the value written, or Deleted.
type WriteRef struct {
	Key     string `json:"key"`
	SHA256  string `json:"sha256,omitempty"` // hex; empty when Deleted
	Deleted bool   `json:"deleted,omitempty"`
}

// EventRef is the recorded event of a transaction: its name and the SHA-256
// of its payload.
type EventRef struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"` // hex
}

// record is the canonical, hashed description of one valid transaction.
// Field order here is irrelevant: appendRecord writes the keys sorted.
type record struct {
	Args     []string         `json:"args"` // base64 (standard, padded)
	Caller   chaincode.Caller `json:"caller"`
	Event    *EventRef        `json:"event,omitempty"`
	Function string           `json:"function"`
	Response string           `json:"response_sha256"` // hex
	Time     string           `json:"time"`
	TxID     string           `json:"tx_id"`
	V        int              `json:"v"`
	Writes   []WriteRef       `json:"writes"`
}

// appendRecord appends the canonical JSON of a record: keys in byte order,
// no insignificant white space, strings escaped as RFC 8785 (JCS) does. The
// output is therefore the JCS form of the same JSON value.
func appendRecord(b []byte, txID string, t time.Time, caller chaincode.Caller, fn string, args [][]byte, writes []WriteRef, ev *EventRef, responseHash []byte) []byte {
	b = append(b, `{"args":[`...)
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, a)
		b = append(b, '"')
	}
	b = append(b, `],"caller":{"id":`...)
	b = jcs.AppendString(b, caller.ID)
	b = append(b, `,"msp":`...)
	b = jcs.AppendString(b, caller.MSP)
	b = append(b, '}')
	if ev != nil {
		b = append(b, `,"event":{"name":`...)
		b = jcs.AppendString(b, ev.Name)
		b = append(b, `,"sha256":"`...)
		b = append(b, ev.SHA256...)
		b = append(b, `"}`...)
	}
	b = append(b, `,"function":`...)
	b = jcs.AppendString(b, fn)
	b = append(b, `,"response_sha256":"`...)
	b = hex.AppendEncode(b, responseHash)
	b = append(b, `","time":"`...)
	b = t.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","tx_id":`...)
	b = jcs.AppendString(b, txID)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, recordVersion, 10)
	b = append(b, `,"writes":[`...)
	for i, w := range writes {
		if i > 0 {
			b = append(b, ',')
		}
		if w.Deleted {
			b = append(b, `{"deleted":true,"key":`...)
			b = jcs.AppendString(b, w.Key)
			b = append(b, '}')
			continue
		}
		b = append(b, `{"key":`...)
		b = jcs.AppendString(b, w.Key)
		b = append(b, `,"sha256":"`...)
		b = append(b, w.SHA256...)
		b = append(b, `"}`...)
	}
	b = append(b, "]}"...)
	return b
}

// parseRecord decodes a stored record and checks that it is in canonical
// form (re-encoding it gives the same bytes).
func parseRecord(raw []byte) (*record, [][]byte, time.Time, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("record does not decode: %w", err)
	}
	if r.V != recordVersion {
		return nil, nil, time.Time{}, fmt.Errorf("record version %d, want %d", r.V, recordVersion)
	}
	args := make([][]byte, len(r.Args))
	for i, a := range r.Args {
		v, err := base64.StdEncoding.DecodeString(a)
		if err != nil {
			return nil, nil, time.Time{}, fmt.Errorf("record arg %d: %w", i, err)
		}
		args[i] = v
	}
	t, err := time.Parse(timeLayout, r.Time)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("record time: %w", err)
	}
	resp, err := hex.DecodeString(r.Response)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("record response hash: %w", err)
	}
	again := appendRecord(nil, r.TxID, t, r.Caller, r.Function, args, r.Writes, r.Event, resp)
	if !bytes.Equal(again, raw) {
		return nil, nil, time.Time{}, fmt.Errorf("record is not in canonical form")
	}
	return &r, args, t, nil
}

// blockHeader is the hashed part of a block.
type blockHeader struct {
	Number    uint64
	PrevHash  []byte
	Time      time.Time
	TxCount   uint64
	FirstLeaf uint64
	TreeSize  uint64
	Root      []byte
}

// appendHeader appends the canonical JSON of a block header (keys sorted,
// hashes in lower-case hex).
func appendHeader(b []byte, h blockHeader) []byte {
	b = append(b, `{"first_leaf":`...)
	b = strconv.AppendUint(b, h.FirstLeaf, 10)
	b = append(b, `,"number":`...)
	b = strconv.AppendUint(b, h.Number, 10)
	b = append(b, `,"prev_hash":"`...)
	b = hex.AppendEncode(b, h.PrevHash)
	b = append(b, `","root":"`...)
	b = hex.AppendEncode(b, h.Root)
	b = append(b, `","time":"`...)
	b = h.Time.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","tree_size":`...)
	b = strconv.AppendUint(b, h.TreeSize, 10)
	b = append(b, `,"tx_count":`...)
	b = strconv.AppendUint(b, h.TxCount, 10)
	b = append(b, '}')
	return b
}

func (h blockHeader) hash() []byte {
	s := sha256.Sum256(appendHeader(nil, h))
	return s[:]
}

func validText(s string) bool { return utf8.ValidString(s) }

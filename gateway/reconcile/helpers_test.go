package reconcile_test

import (
	"encoding/json"
	"errors"
	"testing"

	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// flipSig changes one character of the last step's first signature in the
// last version of an export's manifest record; with rehash it also
// recomputes that version's recorded hash, as a forger would.
func flipSig(t *testing.T, line []byte, rehash bool) []byte {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		t.Fatal(err)
	}
	vs := rec["versions"].([]any)
	last := vs[len(vs)-1].(map[string]any)
	doc := last["doc"].(map[string]any)
	steps := doc["steps"].([]any)
	sig := steps[len(steps)-1].(map[string]any)["signatures"].([]any)[0].(map[string]any)
	s := []byte(sig["sig"].(string))
	if s[5] == 'A' {
		s[5] = 'B'
	} else {
		s[5] = 'A'
	}
	sig["sig"] = string(s)
	if rehash {
		c, err := jcs.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		last["hash"] = manifest.Hash(c)
	}
	out, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

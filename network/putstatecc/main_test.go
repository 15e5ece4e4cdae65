package main

import (
	"strings"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// fakeStub implements the three stub methods the chaincode uses; any other
// call panics through the nil embedded interface.
type fakeStub struct {
	shim.ChaincodeStubInterface
	fn    string
	args  []string
	state map[string][]byte
}

func (f *fakeStub) GetFunctionAndParameters() (string, []string) { return f.fn, f.args }
func (f *fakeStub) GetState(k string) ([]byte, error)            { return f.state[k], nil }
func (f *fakeStub) PutState(k string, v []byte) error            { f.state[k] = v; return nil }

func TestInvoke(t *testing.T) {
	state := map[string][]byte{"a": []byte("1")}
	tests := []struct {
		name        string
		fn          string
		args        []string
		wantStatus  int32
		wantPayload string
		wantMsg     string
	}{
		{"put", "Put", []string{"b", "2"}, shim.OK, "", ""},
		{"get", "Get", []string{"a"}, shim.OK, "1", ""},
		{"get missing", "Get", []string{"zz"}, shim.ERROR, "", "[not_found]"},
		{"put without value", "Put", []string{"b"}, shim.ERROR, "", "[invalid]"},
		{"get empty key", "Get", []string{""}, shim.ERROR, "", "[invalid]"},
		{"unknown", "Delete", []string{"a"}, shim.ERROR, "", "[invalid]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := store{}.Invoke(&fakeStub{fn: tt.fn, args: tt.args, state: state})
			if r.Status != tt.wantStatus || string(r.Payload) != tt.wantPayload || !strings.HasPrefix(r.Message, tt.wantMsg) {
				t.Errorf("Invoke(%s %v) = status %d payload %q message %q, want %d %q %q…",
					tt.fn, tt.args, r.Status, r.Payload, r.Message, tt.wantStatus, tt.wantPayload, tt.wantMsg)
			}
		})
	}
	if got := string(state["b"]); got != "2" {
		t.Errorf("state[b] after Put = %q, want %q", got, "2")
	}
}

package chaincode_test

import (
	"encoding/json"
	"testing"
	"time"

	sjson "github.com/segmentio/encoding/json"

	"wasteledger/chaincode"
	"wasteledger/manifest"
)

// TestEventsAsEncodingJSON: the contract encodes its events with segmentio's
// encoder (Append with Marshal's flags), which must write what encoding/json
// writes (HTML escaping, time format, omitempty, base64 for bytes, map key
// order), byte for byte: the event payloads are hashed into the ledger.
func TestEventsAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 123456000, time.UTC)
	revoked := at.Add(time.Hour)
	caller := chaincode.Caller{MSP: "ProducerMSP", ID: "x509::CN=clerk<&>,O=广州安达"}
	tests := map[string]chaincode.Event{
		"empty":    {},
		"manifest": {V: 1, Type: "manifest.pickup", TxID: "ab12", Time: at, Caller: caller, Hash: "GRHuXApD8czQs_5fKyx7ujOHaKZlWEtFI1rGiWnWgyU"},
		"org": {V: 1, Type: "org.registered", Time: at, Caller: caller, Org: &manifest.Org{
			ID: "91440112MA5AAAA01X", Name: "广州安达 <汽车> & \"零部件\"", Region: "440112",
			Roles: []manifest.Role{manifest.Producer, manifest.Carrier}, MSP: "ProducerMSP", Contact: "\u2028\u2029\x01", Registered: at}},
		"key": {V: 1, Type: "key.revoked", Caller: caller, Key: &manifest.Key{ID: "kid", Org: "o", Holder: "device-1",
			Kind: "device", JWK: []byte(`{"crv":"P-256"}`), Registered: at, Revoked: &revoked, Reason: "lost", MSP: "CarrierMSP"}},
		"permit": {V: 1, Type: "permit.issued", Permit: &manifest.Permit{ID: "粤交运管危440100001", Kind: manifest.Transport,
			ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{"粤A12345"}, CapacityT: 120000, Issued: at}},
		"config": {V: 1, Type: "config.set", Config: &manifest.Config{ToleranceBP: 500, RegulatorMSPs: []string{"RegulatorMSP"}}},
		"probe":  {V: 1, Type: "diag.probe", Probe: map[string]string{"z": "1", "a": "<b>", "m": ""}},
		"zone":   {Time: time.Date(2026, 3, 1, 8, 30, 0, 0, time.FixedZone("CST", 8*3600))},
	}
	for name, e := range tests {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sjson.Append(nil, e, sjson.EscapeHTML|sjson.SortMapKeys)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n segmentio     %s\n encoding/json %s", name, got, want)
		}
	}
}

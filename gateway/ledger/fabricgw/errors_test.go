package fabricgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func isUnavailable(err error) bool { return manifest.CodeOf(err) == manifest.Unavailable }

// withDetails is a gateway error as the peer sends it: a gRPC status with
// one ErrorDetail per endorser or orderer.
func withDetails(code codes.Code, msg string, details ...string) error {
	s := status.New(code, msg)
	for i, d := range details {
		var err error
		s, err = s.WithDetails(&gwproto.ErrorDetail{Address: fmt.Sprintf("127.0.0.1:70%d0", 8+i), MspId: "ProducerMSP", Message: d})
		if err != nil {
			panic(err)
		}
	}
	return s.Err()
}

func TestToError(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    manifest.Code
		wantMsg string
	}{
		{"contract code in an endorser's detail",
			withDetails(codes.Aborted, "failed to endorse transaction, see attached details for more info",
				"chaincode response 500, [conflict] handover 20264401000001: statement.prev: the manifest changed"),
			manifest.Conflict, "[conflict] Handover: handover 20264401000001: statement.prev: the manifest changed"},
		{"contract code in an evaluate message",
			status.Error(codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, [not_found] manifest 20264401999999 not found"),
			manifest.NotFound, "manifest 20264401999999 not found"},
		{"chaincode server down",
			withDetails(codes.Aborted, "failed to endorse transaction, see attached details for more info",
				"error in simulation: failed to execute transaction: could not launch chaincode wasteledger_1.0:ab: connection refused"),
			manifest.Unavailable, "cannot run the transaction"},
		{"gateway peer unreachable", status.Error(codes.Unavailable, "connection error: dial tcp 127.0.0.1:7090: connect: connection refused"),
			manifest.Unavailable, "cannot be reached"},
		{"no orderer", withDetails(codes.Unavailable, "no orderers could successfully process transaction", "rpc error: code = Unavailable"),
			manifest.Unavailable, ""},
		{"timeout", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), manifest.Unavailable, ""},
		{"caller's context", fmt.Errorf("endorse: %w", context.DeadlineExceeded), manifest.Unavailable, ""},
		{"endorsers disagree", status.Error(codes.Aborted, "failed to assemble transaction: ProposalResponsePayloads do not match"),
			manifest.Internal, "disagree"},
		{"too few peers", status.Error(codes.FailedPrecondition, "no combination of peers can be derived which satisfy the endorsement policy"),
			manifest.Unavailable, "not enough peers"},
		{"identity refused", status.Error(codes.FailedPrecondition, "access denied: channel [wasteledger] creator org unknown"),
			manifest.Unauthenticated, ""},
		{"chaincode error without a code", status.Error(codes.Unknown, "chaincode response 500, Function Teleport not found in contract wasteledger"),
			manifest.Internal, ""},
		{"mvcc at commit", &client.CommitError{TransactionID: "t1", Code: peer.TxValidationCode_MVCC_READ_CONFLICT},
			manifest.Conflict, "MVCC_READ_CONFLICT"},
		{"endorsement policy at commit", &client.CommitError{TransactionID: "t1", Code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE},
			manifest.Internal, ""},
		{"already a manifest.Error", manifest.Errorf(manifest.Forbidden, "no"), manifest.Forbidden, "no"},
		{"not a gRPC error", errors.New("EOF"), manifest.Unavailable, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := toError("Handover", stageEndorse, tc.err)
			if got.Code != tc.want || !strings.Contains(got.Error(), tc.wantMsg) {
				t.Errorf("toError(%v) = %q (%s), want %s containing %q", tc.err, got.Error(), got.Code, tc.want, tc.wantMsg)
			}
			if p := manifest.ParseError(got.Error()); p == nil || p.Code != tc.want {
				t.Errorf("the message %q does not carry its code %s", got.Error(), tc.want)
			}
		})
	}
}

func TestCommitErrorsAndRetryClasses(t *testing.T) {
	mvcc := commitError("Handover", "t1", peer.TxValidationCode_MVCC_READ_CONFLICT)
	phantom := commitError("Handover", "t1", peer.TxValidationCode_PHANTOM_READ_CONFLICT)
	contract := manifest.Errorf(manifest.Conflict, "statement.prev: the manifest changed")
	if !isReadConflict(mvcc) || !isReadConflict(phantom) || isReadConflict(contract) {
		t.Errorf("isReadConflict: mvcc %v phantom %v contract conflict %v, want true true false",
			isReadConflict(mvcc), isReadConflict(phantom), isReadConflict(contract))
	}
	if !gatewayDown(status.Error(codes.Unavailable, "connection refused")) ||
		gatewayDown(withDetails(codes.Unavailable, "no orderers could successfully process transaction", "x")) {
		t.Error("gatewayDown: a transport failure is the gateway down; an answer with details is not")
	}
	if !ordererRefused(withDetails(codes.Unavailable, "no orderers could successfully process transaction", "SERVICE_UNAVAILABLE")) ||
		ordererRefused(status.Error(codes.Aborted, "received unsuccessful response from orderer: status=BAD_REQUEST, info=x")) {
		t.Error("ordererRefused: an election is worth resending; a bad request is not")
	}
	behind := toError("CreateManifest", stageEndorse, withDetails(codes.Aborted, "failed to collect enough transaction endorsements",
		"ProposalResponsePayloads do not match"))
	refused := toError("CreateManifest", stageEndorse, withDetails(codes.Aborted, "failed to collect enough transaction endorsements",
		"chaincode server unreachable"))
	if !peersDisagree(behind) || peersDisagree(refused) || peersDisagree(mvcc) || peersDisagree(contract) {
		t.Errorf("peersDisagree: payload mismatch %v, other abort %v, mvcc %v, contract %v; want true false false false",
			peersDisagree(behind), peersDisagree(refused), peersDisagree(mvcc), peersDisagree(contract))
	}
	tooFew := toError("Diagnose", stageEndorse, status.Error(codes.FailedPrecondition,
		"no combination of peers can be derived which satisfy the endorsement policy: no peer combination can satisfy the endorsement policy"))
	denied := toError("Diagnose", stageEndorse, status.Error(codes.FailedPrecondition, "access denied: channel [wasteledger] creator org unknown"))
	if !tooFewEndorsers(tooFew) || tooFewEndorsers(denied) || tooFewEndorsers(refused) || tooFewEndorsers(behind) {
		t.Errorf("tooFewEndorsers: no combination %v, access denied %v, other abort %v, mismatch %v; want true false false false",
			tooFewEndorsers(tooFew), tooFewEndorsers(denied), tooFewEndorsers(refused), tooFewEndorsers(behind))
	}
	for _, fn := range DefaultRetryable {
		if _, ok := chaincode.Functions[fn]; !ok {
			t.Errorf("DefaultRetryable names %s, not a contract function", fn)
		}
	}
	o := defaultOptions()
	if o.retryable["SetConfig"] {
		t.Error("SetConfig must not be retried: it replaces the configuration the caller read")
	}
}

func TestOptions(t *testing.T) {
	bad := []Option{WithEvaluateTimeout(0), WithCommitStatusTimeout(-1), WithSubmitAttempts(0, 1), WithConflictRetry(-1),
		WithConflictRetry(1, "Teleport"), WithEvents("RegulatorMSP", 0), WithChaincode(""), WithPropagationTimeout(-1)}
	for i, opt := range bad {
		o := defaultOptions()
		if err := opt(&o); err == nil {
			t.Errorf("option %d accepted a value that cannot work", i)
		}
	}
	p := Profile{Channel: "wasteledger", Orgs: []ProfileOrg{{MSPID: "RegulatorMSP", PeerAddress: "127.0.0.1:1",
		TLSRootCertPath: "/nonexistent", CertPath: "x", KeyPath: "y"}}}
	if _, err := New(p, WithEvaluateTimeout(0)); err == nil || !strings.Contains(err.Error(), "evaluate timeout") {
		t.Errorf("New with a bad option = %v, want the option's error", err)
	}
	if _, err := New(Profile{}); err == nil {
		t.Error("New accepted an empty profile")
	}
}

// A caller the profile has no identity for, and arguments that do not
// match the function, are refused before anything reaches the network.
func TestRefusedBeforeTheNetwork(t *testing.T) {
	l := &Ledger{orgs: map[string]*org{}}
	ctx := context.Background()
	tests := []struct {
		caller chaincode.Caller
		fn     string
		args   [][]byte
		want   manifest.Code
	}{
		{chaincode.Caller{}, "GetConfig", nil, manifest.Unauthenticated},
		{chaincode.Caller{MSP: "StrangerMSP"}, "GetConfig", nil, manifest.Unauthenticated},
		{chaincode.Caller{MSP: scenario.RegulatorMSP}, "Teleport", nil, manifest.Invalid},
		{chaincode.Caller{MSP: scenario.RegulatorMSP}, "GetManifest", nil, manifest.Invalid},
	}
	for _, tc := range tests {
		_, err := l.Submit(ctx, tc.caller, tc.fn, tc.args...)
		if manifest.CodeOf(err) != tc.want {
			t.Errorf("Submit(%+v, %s) = %v, want %s", tc.caller, tc.fn, err, tc.want)
		}
		_, err = l.Evaluate(ctx, tc.caller, tc.fn, tc.args...)
		if manifest.CodeOf(err) != tc.want {
			t.Errorf("Evaluate(%+v, %s) = %v, want %s", tc.caller, tc.fn, err, tc.want)
		}
	}
}

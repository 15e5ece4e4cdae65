package fabricgw

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"wasteledger/manifest"
)

// stage names where a transaction failed, for messages.
type stage string

const (
	stageEvaluate stage = "evaluate"
	stageEndorse  stage = "endorse"
	stageSubmit   stage = "submit"
	stageCommit   stage = "commit status"
	stageLookup   stage = "look-up"
	stageEvents   stage = "events"
)

// toError maps an error of the Fabric gateway client to a *manifest.Error:
//
//   - an error the contract returned keeps its code, parsed from the
//     "[code] …" message the peers pass back (in the gRPC status message or
//     in one of its ErrorDetails, one per endorser);
//   - a commit that failed validation: MVCC and phantom-read conflicts and
//     a duplicate transaction id are manifest.Conflict, anything else is
//     manifest.Internal;
//   - a peer, orderer or chaincode server that cannot be reached, a timeout,
//     or no set of peers that can satisfy the endorsement policy is
//     manifest.Unavailable;
//   - endorsers that disagree (a peer behind the others, which Submit
//     outwaits by endorsing again, or non-deterministic chaincode) and
//     anything unexpected are manifest.Internal; an identity the network refuses is
//     manifest.Unauthenticated.
func toError(fn string, st stage, err error) *manifest.Error {
	if err == nil {
		return nil
	}
	var me *manifest.Error
	if errors.As(err, &me) {
		return me
	}
	var ce *client.CommitError
	if errors.As(err, &ce) {
		return commitError(fn, ce.TransactionID, ce.Code)
	}
	wrap := func(code manifest.Code, format string, args ...any) *manifest.Error {
		e := manifest.Errorf(code, format, args...)
		e.Op, e.Err = fn, err
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return wrap(manifest.Unavailable, "%s: no answer from the ledger in time", st)
	}
	s, isStatus := status.FromError(err)
	if !isStatus {
		return wrap(manifest.Unavailable, "%s", st)
	}
	// The contract's own code, from the endorsers' details first (the
	// status message is a summary), then from the message itself.
	for _, d := range s.Details() {
		if d, ok := d.(*gwproto.ErrorDetail); ok {
			if pe := manifest.ParseError(d.GetMessage()); pe != nil {
				pe.Op = fn
				pe.Msg = strings.TrimSpace(pe.Msg)
				return pe
			}
		}
	}
	if pe := manifest.ParseError(s.Message()); pe != nil {
		pe.Op = fn
		return pe
	}
	msg := s.Message() + detailText(s)
	switch s.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Canceled:
		return wrap(manifest.Unavailable, "%s: the ledger cannot be reached", st)
	case codes.Aborted:
		if endorsersDiffer(s) {
			return wrap(manifest.Internal, "%s: the endorsing peers disagree (one still behind the others, or non-deterministic chaincode)", st)
		}
		// No endorser could run the chaincode (server down, peer
		// unreachable), or an orderer refused the transaction.
		return wrap(manifest.Unavailable, "%s: the ledger cannot run the transaction now", st)
	case codes.FailedPrecondition:
		if strings.Contains(msg, "access denied") || strings.Contains(msg, "creator") {
			return wrap(manifest.Unauthenticated, "%s: the network refuses this client identity", st)
		}
		// e.g. no combination of peers can satisfy the endorsement policy
		return wrap(manifest.Unavailable, "%s: not enough peers to endorse", st)
	case codes.PermissionDenied, codes.Unauthenticated:
		return wrap(manifest.Unauthenticated, "%s: the network refuses this client identity", st)
	}
	return wrap(manifest.Internal, "%s failed", st)
}

func detailText(s *status.Status) string {
	var b strings.Builder
	for _, d := range s.Details() {
		if d, ok := d.(*gwproto.ErrorDetail); ok {
			fmt.Fprintf(&b, "; %s (%s): %s", d.GetAddress(), d.GetMspId(), d.GetMessage())
		}
	}
	return b.String()
}

// commitError maps a transaction that failed validation.
func commitError(fn, txID string, code peer.TxValidationCode) *manifest.Error {
	c := manifest.Internal
	switch code {
	case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT, peer.TxValidationCode_DUPLICATE_TXID:
		c = manifest.Conflict
	}
	e := manifest.Errorf(c, "transaction %s was not committed: %s", txID, code)
	e.Op = fn
	return e
}

// isReadConflict reports whether err is a commit refused because what the
// transaction read changed before it was ordered.
func isReadConflict(err error) bool {
	var e *manifest.Error
	return errors.As(err, &e) && e.Code == manifest.Conflict &&
		(strings.Contains(e.Msg, peer.TxValidationCode_MVCC_READ_CONFLICT.String()) ||
			strings.Contains(e.Msg, peer.TxValidationCode_PHANTOM_READ_CONFLICT.String()))
}

// peersDisagree reports whether err is an endorsement refused because the
// endorsing peers returned different results. Between concurrent clients
// that happens when one peer has not yet committed a block the others
// have (a new manifest read the city's serial counter one behind): nothing
// was ordered, and endorsing again once the peer has caught up succeeds.
func peersDisagree(err error) bool {
	var e *manifest.Error
	if !errors.As(err, &e) || e.Code != manifest.Internal || e.Err == nil {
		return false
	}
	s, ok := status.FromError(e.Err)
	return ok && endorsersDiffer(s)
}

// tooFewEndorsers reports whether err says the gateway found no set of
// peers that satisfies the endorsement policy: nothing was endorsed. With
// one peer of four down, OutOf(3) has no peer to spare, and a peer that
// the gateway's view of the channel briefly lacks under load leaves none.
func tooFewEndorsers(err error) bool {
	var e *manifest.Error
	if !errors.As(err, &e) || e.Code != manifest.Unavailable || e.Err == nil {
		return false
	}
	s, ok := status.FromError(e.Err)
	return ok && s.Code() == codes.FailedPrecondition
}

// endorsersDiffer reports whether the gateway refused to assemble a
// transaction because its endorsements differ.
func endorsersDiffer(s *status.Status) bool {
	return s.Code() == codes.Aborted && strings.Contains(s.Message()+detailText(s), "do not match")
}

// gatewayDown reports whether err says the gateway peer itself could not be
// reached (transport failure, no answer): the request did not get anywhere,
// so it may go to another peer.
func gatewayDown(err error) bool {
	s, ok := status.FromError(err)
	if !ok {
		return false
	}
	if len(s.Details()) > 0 {
		return false // the gateway answered with what its endorsers or orderers said
	}
	return s.Code() == codes.Unavailable
}

// ordererRefused reports whether a submit error says no orderer accepted
// the transaction (all unreachable, or all answering SERVICE_UNAVAILABLE
// during a Raft election): sending the same transaction again is the
// remedy.
func ordererRefused(err error) bool {
	s, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch s.Code() {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	case codes.Aborted:
		// 4xx from an orderer: the transaction itself is bad; do not repeat.
		return !strings.Contains(s.Message(), "status=BAD_REQUEST") && !strings.Contains(s.Message(), "status=FORBIDDEN")
	}
	return false
}

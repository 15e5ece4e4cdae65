package fabricgw

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wasteledger/chaincode"
)

// Option configures a Ledger. Options return an error for a value that
// cannot work, so that a bad configuration fails at Open, not at the first
// transaction.
type Option func(*options) error

type options struct {
	chaincode string
	channel   string // "" = the profile's

	evaluateTimeout     time.Duration
	endorseTimeout      time.Duration
	submitTimeout       time.Duration
	commitStatusTimeout time.Duration
	resolveTimeout      time.Duration
	propagationTimeout  time.Duration

	submitAttempts int           // tries of the same signed transaction at the orderers
	submitBackoff  time.Duration // first pause between them; doubles
	conflictRetry  int           // re-endorsements after an MVCC or phantom read conflict
	retryable      map[string]bool

	eventsMSP    string
	eventsBuffer int

	log *slog.Logger
}

// DefaultRetryable lists the functions whose MVCC or phantom-read conflicts
// are retried by endorsing them again (a new transaction). Two kinds are:
//
//   - transactions whose intent does not depend on a version the caller
//     saw: CreateManifest (it conflicts on the producer city's serial
//     counter and on battery units, hot keys shared by unrelated
//     manifests), the registrations, revocations and publications (a retry
//     of a lost race answers "already registered/revoked/published"),
//     Diagnose;
//   - the signed steps: their statement names the manifest version it was
//     signed over (prev), so a retry either lands the same statement on
//     that same version or is refused as a conflict by the contract — it
//     can never be applied to a manifest that changed. Their conflicts on
//     keys shared with other manifests (a plant's yearly capacity counter,
//     key and permit records) are then resolved correctly.
//
// SetConfig is not retried: it replaces the whole configuration with one
// the caller derived from what it read, and a retry would silently drop a
// concurrent change. A conflict is returned instead.
var DefaultRetryable = []string{
	"RegisterOrg", "RegisterKey", "RevokeKey", "IssuePermit", "RevokePermit",
	"CreateManifest", "SignManifest", "Handover", "Receive", "Process", "CloseManifest", "CancelManifest",
	"PublishIndicators", "Diagnose",
}

func defaultOptions() options {
	o := options{
		chaincode:           "wasteledger",
		evaluateTimeout:     10 * time.Second,
		endorseTimeout:      15 * time.Second,
		submitTimeout:       5 * time.Second,
		commitStatusTimeout: 10 * time.Second,
		resolveTimeout:      10 * time.Second,
		propagationTimeout:  3 * time.Second,
		submitAttempts:      5,
		submitBackoff:       500 * time.Millisecond,
		conflictRetry:       4,
		retryable:           map[string]bool{},
		eventsBuffer:        4096,
		log:                 slog.New(slog.DiscardHandler),
	}
	for _, fn := range DefaultRetryable {
		o.retryable[fn] = true
	}
	return o
}

func positive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s must be positive, got %v", name, d)
	}
	return nil
}

// WithChaincode names the chaincode (default "wasteledger").
func WithChaincode(name string) Option {
	return func(o *options) error {
		if name == "" {
			return errors.New("empty chaincode name")
		}
		o.chaincode = name
		return nil
	}
}

// WithChannel overrides the profile's channel.
func WithChannel(name string) Option {
	return func(o *options) error {
		if name == "" {
			return errors.New("empty channel name")
		}
		o.channel = name
		return nil
	}
}

// WithEvaluateTimeout bounds one evaluation (default 10 s).
func WithEvaluateTimeout(d time.Duration) Option {
	return func(o *options) error { o.evaluateTimeout = d; return positive("evaluate timeout", d) }
}

// WithEndorseTimeout bounds collecting the endorsements of one proposal
// (default 15 s).
func WithEndorseTimeout(d time.Duration) Option {
	return func(o *options) error { o.endorseTimeout = d; return positive("endorse timeout", d) }
}

// WithSubmitTimeout bounds one hand-off of the endorsed transaction to the
// ordering service (default 5 s).
func WithSubmitTimeout(d time.Duration) Option {
	return func(o *options) error { o.submitTimeout = d; return positive("submit timeout", d) }
}

// WithCommitStatusTimeout bounds the wait for the commit status of a
// submitted transaction (default 10 s). When it expires the outcome is
// unknown and is resolved by looking the transaction up (see Submit).
func WithCommitStatusTimeout(d time.Duration) Option {
	return func(o *options) error { o.commitStatusTimeout = d; return positive("commit status timeout", d) }
}

// WithResolveTimeout bounds each look-up phase that resolves an unknown
// outcome (default 10 s).
func WithResolveTimeout(d time.Duration) Option {
	return func(o *options) error { o.resolveTimeout = d; return positive("resolve timeout", d) }
}

// WithPropagationTimeout bounds how long Submit waits, after its gateway
// peer committed a transaction, for the other peers to commit it too
// (default 3 s; 0 does not wait). See Ledger.Submit.
func WithPropagationTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("propagation timeout must not be negative, got %v", d)
		}
		o.propagationTimeout = d
		return nil
	}
}

// WithSubmitAttempts sets how often the same signed transaction is handed
// to the ordering service while it refuses it (a Raft election, an orderer
// restarting), with a pause of backoff doubling each time (default 5 tries
// from 500 ms: about 7.5 s, longer than an election here). Resending the
// same transaction is always safe: a transaction id commits at most once.
func WithSubmitAttempts(n int, backoff time.Duration) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("submit attempts must be at least 1, got %d", n)
		}
		o.submitAttempts, o.submitBackoff = n, backoff
		return positive("submit backoff", backoff)
	}
}

// WithConflictRetry sets how many times a retryable function is endorsed
// again after an MVCC or phantom-read conflict (default 4), and which
// functions are retryable (default DefaultRetryable). Passing no function
// names keeps the current set.
func WithConflictRetry(n int, fns ...string) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("conflict retries must not be negative, got %d", n)
		}
		o.conflictRetry = n
		if len(fns) > 0 {
			o.retryable = map[string]bool{}
			for _, fn := range fns {
				if _, ok := chaincode.Functions[fn]; !ok {
					return fmt.Errorf("unknown function %q", fn)
				}
				o.retryable[fn] = true
			}
		}
		return nil
	}
}

// WithEvents sets the organisation whose identity reads the event feed and
// looks transactions up (default: the profile's first organisation) and
// how many unread events are buffered (default 4096).
func WithEvents(mspID string, buffer int) Option {
	return func(o *options) error {
		if buffer < 1 {
			return fmt.Errorf("event buffer must be at least 1, got %d", buffer)
		}
		o.eventsMSP, o.eventsBuffer = mspID, buffer
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		return nil
	}
}

// Package fabricgw is the gateway's ledger.Ledger over a Hyperledger Fabric
// network, through the Fabric Gateway service of the organisations' peers
// (github.com/hyperledger/fabric-gateway/pkg/client).
//
// Each member organisation has one client identity (from the connection
// profile); a transaction is endorsed, ordered and committed as the
// caller's organisation. Every organisation's identity can reach every
// peer's gateway: its own peer is tried first, the others when it cannot
// be reached.
//
// Submit never reports success for a transaction that did not commit, and
// never makes one transaction commit twice:
//
//   - endorse: an error from the contract keeps its code ("[code] …" in
//     the endorsement error); a gateway peer that cannot be reached is
//     skipped for the next one (nothing was ordered yet);
//   - order: while no orderer accepts the transaction (a Raft election,
//     an orderer down), the same signed transaction is sent again, with
//     backoff — a transaction id commits at most once, so resending it is
//     always safe;
//   - commit status: when it times out or its peer goes away, the outcome
//     is unknown. It is resolved by looking the transaction id up on the
//     peers (qscc GetBlockByTxID) for a while; if it is nowhere, the same
//     signed transaction is sent once more and its status awaited; then
//     one last look-up. Only a found transaction is reported (success, or
//     its validation failure); otherwise Submit returns
//     manifest.Unavailable saying the outcome was not seen. Resubmitting a
//     signed step after that is safe: its statement names the manifest
//     version it applies to, so a second copy is refused as a conflict.
//   - a read conflict (MVCC or phantom) of a retryable function (see
//     DefaultRetryable) is retried as a new transaction, a bounded number
//     of times; so is, for any function, an endorsement refused because
//     the endorsers' results differ (a peer a block behind the others) or
//     because too few peers are there to satisfy the endorsement policy
//     (one down, another briefly out of the gateway's view), for up to
//     behindRetryFor.
//
// Submit returns once the gateway peer has committed the transaction and
// every other peer that answers has too (bounded by the propagation
// timeout), so that the next transaction — endorsed by any organisation's
// peers — and an evaluation as any organisation see it.
//
// Events reads the channel's blocks (see follower) and Tx looks a
// transaction up with qscc GetBlockByTxID; both give the (block,
// transaction index) position the ledger.Cursor is made of.
package fabricgw

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric/docref"
	"wasteledger/chaincode/fabric/packed"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// Ledger is a ledger.Ledger over a Fabric network. It is safe for
// concurrent use.
type Ledger struct {
	o       options
	channel string
	conns   []*grpc.ClientConn
	orgs    map[string]*org // by MSP id
	evOrg   *org            // reads events and looks transactions up

	evMu   sync.Mutex
	evNext int // gateway of evOrg the next event stream starts on
	events *follower

	closeOnce sync.Once
}

var _ ledger.Ledger = (*Ledger)(nil)

// org is one organisation's client identity, with a gateway on every peer,
// its own peer first.
type org struct {
	msp string
	gws []*peerGateway
}

type peerGateway struct {
	addr string
	gw   *client.Gateway
	net  *client.Network
	cc   *client.Contract
	qscc *client.Contract

	downUntil atomic.Int64 // unix ns; the peer could not be reached, try it last until then
}

// downFor is how long a gateway peer that could not be reached is tried
// after the others.
const downFor = 2 * time.Second

func (g *peerGateway) markDown() { g.downUntil.Store(time.Now().Add(downFor).UnixNano()) }

// gateways lists the organisation's gateways in the order to try them: its
// own peer first, except that peers seen unreachable in the last moments
// go last (every peer is still tried).
func (og *org) gateways() []int {
	now := time.Now().UnixNano()
	order := make([]int, 0, len(og.gws))
	var later []int
	for i, g := range og.gws {
		if g.downUntil.Load() > now {
			later = append(later, i)
		} else {
			order = append(order, i)
		}
	}
	return append(order, later...)
}

// Open connects to the network described by the connection profile at
// path (network/up.sh writes $NETWORK_DIR/connection.json).
func Open(path string, opts ...Option) (*Ledger, error) {
	p, err := LoadProfile(path)
	if err != nil {
		return nil, err
	}
	return New(p, opts...)
}

// New connects to the network described by the profile. Connections are
// made lazily: New succeeds while peers are down.
func New(p Profile, opts ...Option) (*Ledger, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("fabricgw: %w", err)
		}
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("fabricgw: profile: %w", err)
	}
	l := &Ledger{o: o, channel: p.Channel, orgs: map[string]*org{}}
	if o.channel != "" {
		l.channel = o.channel
	}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()

	conns := map[string]*grpc.ClientConn{}
	for _, po := range p.Orgs {
		conn, err := dial(po)
		if err != nil {
			return nil, fmt.Errorf("fabricgw: peer of %s: %w", po.MSPID, err)
		}
		conns[po.MSPID] = conn
		l.conns = append(l.conns, conn)
	}
	for _, po := range p.Orgs {
		id, sign, err := loadIdentity(po)
		if err != nil {
			return nil, fmt.Errorf("fabricgw: identity of %s: %w", po.MSPID, err)
		}
		og := &org{msp: po.MSPID}
		peers := append([]ProfileOrg{po}, without(p.Orgs, po.MSPID)...)
		for _, peerOrg := range peers {
			gw, err := client.Connect(id, client.WithSign(sign), client.WithHash(hash.SHA256),
				client.WithClientConnection(conns[peerOrg.MSPID]))
			if err != nil {
				return nil, fmt.Errorf("fabricgw: gateway of %s at %s: %w", po.MSPID, peerOrg.PeerAddress, err)
			}
			n := gw.GetNetwork(l.channel)
			og.gws = append(og.gws, &peerGateway{addr: peerOrg.PeerAddress, gw: gw, net: n,
				cc: n.GetContract(o.chaincode), qscc: n.GetContract("qscc")})
		}
		l.orgs[po.MSPID] = og
	}
	l.evOrg = l.orgs[p.Orgs[0].MSPID]
	if o.eventsMSP != "" {
		if l.evOrg = l.orgs[o.eventsMSP]; l.evOrg == nil {
			return nil, fmt.Errorf("fabricgw: events organisation %s is not in the profile", o.eventsMSP)
		}
	}
	l.events = newFollower(l.blocks, o.chaincode, o.eventsBuffer, o.log)
	ok = true
	return l, nil
}

func without(orgs []ProfileOrg, msp string) []ProfileOrg {
	var out []ProfileOrg
	for _, o := range orgs {
		if o.MSPID != msp {
			out = append(out, o)
		}
	}
	return out
}

func dial(po ProfileOrg) (*grpc.ClientConn, error) {
	pem, err := os.ReadFile(po.TLSRootCertPath)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", po.TLSRootCertPath)
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: po.ServerNameOverride, MinVersion: tls.VersionTLS12})
	// Reconnect quickly to a restarted peer (gRPC's default backoff grows
	// to two minutes).
	bo := backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second}
	return grpc.NewClient(po.PeerAddress, grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: 3 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(100<<20)))
}

func loadIdentity(po ProfileOrg) (*identity.X509Identity, identity.Sign, error) {
	certPEM, err := os.ReadFile(po.CertPath)
	if err != nil {
		return nil, nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, err
	}
	id, err := identity.NewX509Identity(po.MSPID, cert)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(po.KeyPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, err
	}
	return id, sign, nil
}

// Close stops the event follower and closes every connection.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		if l.events != nil {
			l.events.stop()
		}
		for _, og := range l.orgs {
			for _, g := range og.gws {
				g.gw.Close()
			}
		}
		for _, c := range l.conns {
			c.Close()
		}
	})
	return nil
}

// orgOf is the organisation the caller submits as: its MSP id names it;
// the identity within it is the organisation's client identity.
func (l *Ledger) orgOf(caller chaincode.Caller, fn string) (*org, error) {
	if caller.MSP == "" {
		e := manifest.Errorf(manifest.Unauthenticated, "the caller has no ledger identity")
		e.Op = fn
		return nil, e
	}
	og, ok := l.orgs[caller.MSP]
	if !ok {
		e := manifest.Errorf(manifest.Unauthenticated, "no client identity for %s in the connection profile", caller.MSP)
		e.Op = fn
		return nil, e
	}
	return og, nil
}

func checkArgs(fn string, args [][]byte) error {
	f, ok := chaincode.Functions[fn]
	if !ok {
		return manifest.Errorf(manifest.Invalid, "unknown function %q", fn)
	}
	if len(args) != f.Args {
		e := manifest.Errorf(manifest.Invalid, "%s takes %d argument(s), got %d", fn, f.Args, len(args))
		e.Op = fn
		return e
	}
	return nil
}

// Evaluate runs a function on one peer as the caller's organisation,
// without ordering it.
func (l *Ledger) Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	if err := checkArgs(fn, args); err != nil {
		return nil, err
	}
	og, err := l.orgOf(caller, fn)
	if err != nil {
		return nil, err
	}
	args = packArgs(args)
	var last error
	order := og.gateways()
	for n, i := range order {
		g := og.gws[i]
		ectx, cancel := context.WithTimeout(ctx, l.o.evaluateTimeout)
		out, err := g.cc.EvaluateWithContext(ectx, fn, client.WithBytesArguments(args...))
		cancel()
		if err == nil && docref.Encoded(out) {
			e := manifest.Errorf(manifest.Invalid, "%s writes: its response names documents of a write set that an evaluation does not return; submit it", fn)
			e.Op = fn
			return nil, e
		}
		if err == nil {
			return out, nil
		}
		last = err
		if gatewayDown(err) && n+1 < len(order) && ctx.Err() == nil {
			l.peerDown(g, fn, err)
			continue
		}
		break
	}
	return nil, toError(fn, stageEvaluate, last)
}

// Submit endorses, orders and commits a transaction as the caller's
// organisation and returns once it is committed (see the package
// documentation for what happens on each kind of failure).
func (l *Ledger) Submit(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) (ledger.Commit, error) {
	if err := checkArgs(fn, args); err != nil {
		return ledger.Commit{}, err
	}
	og, err := l.orgOf(caller, fn)
	if err != nil {
		return ledger.Commit{}, err
	}
	return l.submit(ctx, og, fn, carry(args))
}

// packArgs returns the arguments as an evaluation sends them: those of
// packed.MinLen bytes or more packed, as the contract stores its values (a
// signed statement is about a third smaller packed). The chaincode unpacks
// them (fabric.MaxArgBytes).
func packArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = packed.Encode(a)
	}
	return out
}

// call is a function's arguments as its proposal carries them.
type call struct {
	args      [][]byte
	transient map[string][]byte
}

func (c call) options() []client.ProposalOption {
	opts := []client.ProposalOption{client.WithBytesArguments(c.args...)}
	if len(c.transient) > 0 {
		opts = append(opts, client.WithTransient(c.transient))
	}
	return opts
}

// carry returns the arguments as a submitted transaction's proposal
// carries them: those of packed.MinLen bytes or more sent as transient
// data, which the endorsers read and the ordered transaction leaves out
// (docref.TransientArg): what the contract writes holds what it keeps of
// them, and the transaction does not carry them a second time to every
// orderer and peer, nor keep them in every block. They go as they are:
// packing them would save a few hundred bytes on the way to the endorsers
// only (a signed statement 905 → 613) for 0.07 ms of CPU per handover.
func carry(args [][]byte) call {
	c := call{args: slices.Clone(args)}
	for i, a := range args {
		if len(a) < packed.MinLen {
			continue
		}
		if c.transient == nil {
			c.transient = map[string][]byte{}
		}
		c.transient[docref.TransientKey(i+1)] = a
		c.args[i] = []byte(docref.TransientArg)
	}
	return c
}

// submit runs Submit's protocol for any function of the chaincode,
// endorsing again while the endorsers disagree and, for retryable
// functions, after a read conflict.
func (l *Ledger) submit(ctx context.Context, og *org, fn string, args call) (ledger.Commit, error) {
	start := time.Now()
	for attempt, conflicts := 0, 0; ; attempt++ {
		c, err := l.submitOnce(ctx, og, fn, args)
		if err == nil {
			return c, nil
		}
		// Peers that disagree were not all at the same height, and too few
		// peers to endorse is a peer down or briefly missing from the
		// gateway's view: nothing was ordered, so any function may be
		// endorsed again, for as long as a lagging peer takes to catch up.
		// A read conflict is retried only for functions that are safe to
		// run again.
		again := false
		switch {
		case peersDisagree(err), tooFewEndorsers(err):
			again = time.Since(start) < behindRetryFor
		case l.o.retryable[fn] && isReadConflict(err):
			conflicts++
			again = conflicts <= l.o.conflictRetry
		}
		if !again || ctx.Err() != nil {
			return ledger.Commit{}, err
		}
		pause := time.Duration(min(attempt+1, 5)) * time.Duration(20+rand.IntN(60)) * time.Millisecond
		l.o.log.Debug("conflict or endorsers behind; endorsing again", "fn", fn, "attempt", attempt+1, "pause", pause, "err", err)
		if !sleep(ctx, pause) {
			return ledger.Commit{}, err
		}
	}
}

// behindRetryFor bounds re-endorsing while the endorsers disagree. A peer
// a block behind under load catches up within a block or two; the
// transactions that keep a counter (manifest numbers per city) are read by
// every creation, so under a burst of creations some peer is often behind
// on it.
const behindRetryFor = 5 * time.Second

// pending is an endorsed transaction on its way to the ledger.
type pending struct {
	fn     string
	og     *org
	gw     int // index of the gateway in og.gws it is submitted through
	tx     *client.Transaction
	id     string
	time   time.Time
	result []byte
}

func (l *Ledger) submitOnce(ctx context.Context, og *org, fn string, args call) (ledger.Commit, error) {
	p, err := l.endorse(ctx, og, fn, args)
	if err != nil {
		return ledger.Commit{}, err
	}
	commit, err := l.order(ctx, p)
	if err != nil {
		if !ordererRefused(err) && !gatewayDown(err) && ctx.Err() == nil {
			// An orderer turned the transaction down (4xx): not ordered.
			return ledger.Commit{}, toError(fn, stageSubmit, err)
		}
		return l.resolve(ctx, p, fmt.Errorf("%s: %w", stageSubmit, err))
	}
	sctx, cancel := context.WithTimeout(ctx, l.o.commitStatusTimeout)
	st, err := commit.StatusWithContext(sctx)
	cancel()
	if err != nil {
		return l.resolve(ctx, p, fmt.Errorf("%s: %w", stageCommit, err))
	}
	if !st.Successful {
		return ledger.Commit{}, commitError(fn, p.id, st.Code)
	}
	l.propagate(ctx, p, commit)
	return ledger.Commit{TxID: p.id, Block: st.BlockNumber, Time: p.time, Payload: p.result}, nil
}

// propagate waits, for at most the propagation timeout, until every other
// peer that answers has committed the transaction too (the gateway's
// commit status speaks for its own peer only). Then the next transaction,
// endorsed by any organisation's peer, or an evaluation as any
// organisation, sees this one: without it, a producer's key registered
// right after the regulator registered the producer is refused by a
// producer peer a few milliseconds behind. A peer that is down or still
// behind when the time is up is left to catch up.
func (l *Ledger) propagate(ctx context.Context, p *pending, commit *client.Commit) {
	if l.o.propagationTimeout <= 0 || len(p.og.gws) < 2 {
		return
	}
	b, err := commit.Bytes()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, l.o.propagationTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, g := range p.og.gws {
		if i == p.gw {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := g.gw.NewCommit(b)
			if err == nil {
				_, err = c.StatusWithContext(ctx)
			}
			if err != nil && ctx.Err() != nil {
				l.o.log.Debug("peer has not committed the transaction yet", "peer", g.addr, "tx_id", p.id, "err", oneLine(err))
			}
		}()
	}
	wg.Wait()
}

func (l *Ledger) endorse(ctx context.Context, og *org, fn string, args call) (*pending, error) {
	var last error
	order := og.gateways()
	for n, i := range order {
		g := og.gws[i]
		prop, err := g.cc.NewProposal(fn, args.options()...)
		if err != nil {
			return nil, toError(fn, stageEndorse, err)
		}
		ectx, cancel := context.WithTimeout(ctx, l.o.endorseTimeout)
		tx, err := prop.EndorseWithContext(ectx)
		cancel()
		if err == nil {
			p := &pending{fn: fn, og: og, gw: i, tx: tx, id: tx.TransactionID(), result: tx.Result()}
			if docref.Encoded(p.result) {
				// The response names documents in the write set.
				b, err := tx.Bytes()
				if err == nil {
					p.result, err = endorsedResponse(b)
				}
				if err != nil {
					return nil, toError(fn, stageEndorse, fmt.Errorf("the response: %w", err))
				}
			}
			if b, err := prop.Bytes(); err == nil {
				p.time, _ = proposalTime(b)
			}
			return p, nil
		}
		last = err
		if gatewayDown(err) && n+1 < len(order) && ctx.Err() == nil {
			l.peerDown(g, fn, err)
			continue
		}
		break
	}
	return nil, toError(fn, stageEndorse, last)
}

// peerDown notes a gateway peer that could not be reached; it is logged
// once per outage, not per request.
func (l *Ledger) peerDown(g *peerGateway, fn string, err error) {
	if g.downUntil.Load() < time.Now().UnixNano() {
		l.o.log.Warn("gateway peer unreachable; using the next one", "peer", g.addr, "fn", fn, "err", oneLine(err))
	}
	g.markDown()
}

// order hands the endorsed transaction to the ordering service, sending
// the same signed transaction again while no orderer accepts it, through
// another gateway peer when its own cannot be reached.
func (l *Ledger) order(ctx context.Context, p *pending) (*client.Commit, error) {
	pause := l.o.submitBackoff
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, l.o.submitTimeout)
		commit, err := p.tx.SubmitWithContext(sctx)
		cancel()
		if err == nil {
			return commit, nil
		}
		if attempt >= l.o.submitAttempts || ctx.Err() != nil {
			return nil, err
		}
		switch {
		case gatewayDown(err) && len(p.og.gws) > 1:
			l.peerDown(p.og.gws[p.gw], p.fn, err)
			if err := l.moveTx(p); err != nil {
				return nil, err
			}
		case ordererRefused(err):
		default:
			return nil, err
		}
		l.o.log.Warn("transaction not accepted for ordering; sending it again", "tx_id", p.id, "fn", p.fn,
			"attempt", attempt, "pause", pause, "err", oneLine(err))
		if !sleep(ctx, pause) {
			return nil, err
		}
		pause *= 2
	}
}

// moveTx rebinds the signed transaction to the next gateway peer.
func (l *Ledger) moveTx(p *pending) error {
	b, err := p.tx.Bytes()
	if err != nil {
		return err
	}
	next := (p.gw + 1) % len(p.og.gws)
	tx, err := p.og.gws[next].gw.NewTransaction(b)
	if err != nil {
		return err
	}
	p.gw, p.tx = next, tx
	return nil
}

// resolve settles a transaction whose outcome is unknown: it was endorsed
// and perhaps ordered, but its commit status did not come. See the package
// documentation.
func (l *Ledger) resolve(ctx context.Context, p *pending, cause error) (ledger.Commit, error) {
	log := l.o.log.With("tx_id", p.id, "fn", p.fn)
	log.Warn("outcome unknown; looking the transaction up", "err", oneLine(cause))
	if c, found, err := l.settle(ctx, p); found {
		return c, err
	}
	if ctx.Err() == nil {
		// Not on the ledger: send the same signed transaction again. Should
		// the first copy still be ordered, the second is refused as a
		// duplicate: an id commits once.
		if commit, err := l.order(ctx, p); err == nil {
			sctx, cancel := context.WithTimeout(ctx, l.o.commitStatusTimeout)
			st, err := commit.StatusWithContext(sctx)
			cancel()
			if err == nil {
				log.Info("outcome resolved by sending the transaction again", "block", st.BlockNumber, "status", st.Code)
				if !st.Successful {
					return ledger.Commit{}, commitError(p.fn, p.id, st.Code)
				}
				l.propagate(ctx, p, commit)
				return ledger.Commit{TxID: p.id, Block: st.BlockNumber, Time: p.time, Payload: p.result}, nil
			}
			cause = fmt.Errorf("%w; sent again: %s: %w", cause, stageCommit, err)
		} else {
			cause = fmt.Errorf("%w; sent again: %s: %w", cause, stageSubmit, err)
		}
		if c, found, err := l.settle(ctx, p); found {
			return c, err
		}
	}
	e := manifest.Errorf(manifest.Unavailable,
		"transaction %s: its commit was not seen on any peer (%v); it may be submitted again: a signed statement that did commit is then refused as a conflict",
		p.id, oneLine(cause))
	e.Op = p.fn
	log.Error("outcome unresolved", "err", e)
	return ledger.Commit{}, e
}

// settle polls the peers for the transaction for the resolve timeout.
func (l *Ledger) settle(ctx context.Context, p *pending) (ledger.Commit, bool, error) {
	deadline := time.Now().Add(l.o.resolveTimeout)
	for {
		tx, block, found, err := l.lookup(ctx, p.og, p.id)
		if found {
			l.o.log.Info("outcome resolved by look-up", "tx_id", p.id, "block", block, "status", tx.Code)
			if tx.Code != peer.TxValidationCode_VALID {
				return ledger.Commit{}, true, commitError(p.fn, p.id, tx.Code)
			}
			l.propagateByLookup(ctx, p)
			return ledger.Commit{TxID: p.id, Block: block, Time: p.time, Payload: p.result}, true, nil
		}
		if err != nil {
			l.o.log.Debug("look-up failed", "tx_id", p.id, "err", err)
		}
		if time.Now().After(deadline) || !sleep(ctx, 300*time.Millisecond) {
			return ledger.Commit{}, false, nil
		}
	}
}

// propagateByLookup is propagate for a transaction found by look-up (no
// commit status request at hand): it polls every peer for it.
func (l *Ledger) propagateByLookup(ctx context.Context, p *pending) {
	if l.o.propagationTimeout <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, l.o.propagationTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, g := range p.og.gws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ectx, cancel := context.WithTimeout(ctx, l.o.evaluateTimeout)
				_, err := g.qscc.EvaluateWithContext(ectx, "GetBlockByTxID", client.WithArguments(l.channel, p.id))
				cancel()
				if err == nil || gatewayDown(err) || !sleep(ctx, 100*time.Millisecond) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// lookup asks the organisation's peers, its own first, for the block that
// holds the transaction. It reports found only for a transaction in a
// block; err says why no peer could answer.
func (l *Ledger) lookup(ctx context.Context, og *org, txID string) (blockTx, uint64, bool, error) {
	b, _, found, err := l.blockOf(ctx, og, txID)
	if !found {
		return blockTx{}, 0, false, err
	}
	tx, err := findTx(b, txID)
	if err != nil {
		return blockTx{}, 0, false, err
	}
	return tx, b.GetHeader().GetNumber(), true, nil
}

// blockOf asks the organisation's peers, its own first, for the block that
// holds the transaction, and says which peer answered. It reports found
// only for a transaction in a block; err says why no peer could answer.
func (l *Ledger) blockOf(ctx context.Context, og *org, txID string) (*common.Block, *peerGateway, bool, error) {
	var errs []error
	for _, i := range og.gateways() {
		g := og.gws[i]
		ectx, cancel := context.WithTimeout(ctx, l.o.evaluateTimeout)
		raw, err := g.qscc.EvaluateWithContext(ectx, "GetBlockByTxID", client.WithArguments(l.channel, txID))
		cancel()
		if err != nil {
			if !strings.Contains(err.Error(), "no such transaction ID") {
				errs = append(errs, fmt.Errorf("%s: %s", g.addr, oneLine(err)))
			}
			continue
		}
		b := &common.Block{}
		if err := proto.Unmarshal(raw, b); err != nil {
			return nil, nil, false, fmt.Errorf("%s: block: %w", g.addr, err)
		}
		return b, g, true, nil
	}
	return nil, nil, false, errors.Join(errs...)
}

// Tx locates a committed transaction.
func (l *Ledger) Tx(ctx context.Context, txID string) (ledger.TxInfo, error) {
	if txID == "" {
		return ledger.TxInfo{}, manifest.Errorf(manifest.Invalid, "empty transaction id")
	}
	tx, block, found, err := l.lookup(ctx, l.evOrg, txID)
	if !found {
		if err != nil {
			return ledger.TxInfo{}, manifest.Errorf(manifest.Unavailable, "%s of transaction %s: no peer answered: %w", stageLookup, txID, err)
		}
		return ledger.TxInfo{}, manifest.Errorf(manifest.NotFound, "transaction %s not found", txID)
	}
	if tx.Code != peer.TxValidationCode_VALID {
		return ledger.TxInfo{}, manifest.Errorf(manifest.NotFound, "transaction %s is in block %d but was not committed (%s)", txID, block, tx.Code)
	}
	return ledger.TxInfo{TxID: txID, Block: block, Index: tx.Index, Time: tx.Time}, nil
}

// Events returns up to limit contract events after the cursor (see
// ledger.Ledger). It reads the channel's blocks from the events
// organisation's peer (another peer when that one cannot be reached) and
// keeps the events of valid transactions of the chaincode, so a cursor
// (block, transaction index) resumes exactly: nothing skipped, nothing
// repeated, across restarts of the follower or of the peers.
func (l *Ledger) Events(ctx context.Context, after ledger.Cursor, limit int) ([]ledger.Event, error) {
	if limit < 1 {
		return nil, manifest.Errorf(manifest.Invalid, "events: limit must be at least 1, got %d", limit)
	}
	return l.events.next(ctx, after, limit)
}

// blocks opens a block stream from block start on a gateway of the events
// organisation, the next one each time (a broken stream is reopened on
// another peer).
func (l *Ledger) blocks(ctx context.Context, start uint64) (<-chan *common.Block, string, error) {
	l.evMu.Lock()
	g := l.evOrg.gws[l.evNext%len(l.evOrg.gws)]
	l.evNext++
	l.evMu.Unlock()
	ch, err := g.net.BlockEvents(ctx, client.WithStartBlock(start))
	return ch, g.addr, err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

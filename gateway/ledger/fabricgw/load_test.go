//go:build fabric

package fabricgw

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// Helpers shared by the fault tests and the benchmark: a world with a
// producer in each of several Guangdong cities (a manifest's serial number
// is counted per producer city, so creations in different cities never
// conflict), trips with several carrier legs, and network/ctl.sh.

// gdCities are the prefecture-level cities of Guangdong.
var gdCities = []string{"440100", "440200", "440300", "440400", "440500", "440600", "440700", "440800", "440900", "441200",
	"441300", "441400", "441500", "441600", "441700", "441800", "441900", "442000", "445100", "445200", "445300"}

type loadWorld struct {
	*scenario.World
	producers []*scenario.Party
}

// newLoadWorld registers a scenario world and one producer in each of the
// first n cities.
func newLoadWorld(ctx context.Context, t testing.TB, l *Ledger, n int) *loadWorld {
	t.Helper()
	w := &loadWorld{World: scenario.NewWorld()}
	h := host{l}
	if err := w.Setup(ctx, h); err != nil {
		t.Fatalf("world setup: %v", err)
	}
	if n > len(gdCities) {
		n = len(gdCities)
	}
	w.producers = make([]*scenario.Party, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := scenario.NewParty(fmt.Sprintf("产废单位%02d有限公司", i), gdCities[i], scenario.ProducerMSP, manifest.Producer)
			errs[i] = scenario.Register(ctx, h, w.RegulatorCaller(), p)
			w.producers[i] = p
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("register producers: %v", err)
	}
	return w
}

// trip is waste oil and sludge from producer to the hazardous-waste plant
// over legs carrier legs, the hauler and the relay carrier alternating.
func (w *loadWorld) trip(producer *scenario.Party, legs int) *scenario.Trip {
	t := w.OilTrip(false)
	t.Producer = producer
	t.Draft.Producer = producer.Org.ID
	t.Draft.Site.Region = producer.Org.Region
	t.Draft.Legs = nil
	t.Carriers, t.Plates = nil, nil
	for i := 0; i < legs; i++ {
		c, permit, plate := w.Hauler, w.HaulerPermit.ID, scenario.HaulerPlate
		if i%2 == 1 {
			c, permit, plate = w.Relay, w.RelayPermit.ID, scenario.RelayPlate
		}
		t.Draft.Legs = append(t.Draft.Legs, manifest.Leg{Carrier: c.Org.ID, Permit: permit, Plates: []string{plate}})
		t.Carriers = append(t.Carriers, c)
		t.Plates = append(t.Plates, plate)
	}
	return t
}

// prepare creates and signs n trips of legs legs, one stream of creations
// per producer city.
func (w *loadWorld) prepare(ctx context.Context, t testing.TB, l *Ledger, n, legs int) []*tripRun {
	t.Helper()
	h := host{l}
	out := make([]*tripRun, n)
	errs := make([]error, len(w.producers))
	var wg sync.WaitGroup
	for p := range w.producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += len(w.producers) {
				tr := w.trip(w.producers[p], legs)
				if err := tr.Create(ctx, h); err != nil {
					errs[p] = fmt.Errorf("create: %w", err)
					return
				}
				if err := tr.SignByProducer(ctx, h); err != nil {
					errs[p] = fmt.Errorf("sign: %w", err)
					return
				}
				out[i] = &tripRun{trip: tr, legs: legs}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("prepare trips: %v", err)
	}
	return out
}

// tripRun walks a signed trip through its handovers: pickup, a relay
// between each pair of legs, delivery.
type tripRun struct {
	trip *scenario.Trip
	legs int
	next int // handovers done
}

func (r *tripRun) done() bool { return r.next > r.legs }

// signNext signs the next handover statement and names its submitter.
func (r *tripRun) signNext() (body []byte, submitter *scenario.Party, step manifest.Step, err error) {
	st, from, to := r.trip.Handover(r.next)
	body, err = scenario.Sign(st, from, to)
	return body, to, st.Step, err
}

// handover submits the next handover.
func (r *tripRun) handover(ctx context.Context, l *Ledger) (ledger.Commit, manifest.Step, []byte, error) {
	body, submitter, step, err := r.signNext()
	if err != nil {
		return ledger.Commit{}, step, nil, err
	}
	c, err := l.Submit(ctx, submitter.Caller(), "Handover", body)
	if err != nil {
		return c, step, body, err
	}
	r.trip.Doc = c.Payload
	r.next++
	return c, step, body, nil
}

// netctl drives network/ctl.sh for the network of the profile.
type netctl struct {
	dir, base, script string
}

func newNetctl(t testing.TB, p Profile) netctl {
	t.Helper()
	if p.NetworkDir == "" || len(p.Orderers) == 0 {
		t.Fatal("the connection profile names no networkDir or orderers; fault tests need network/ctl.sh")
	}
	_, port, ok := strings.Cut(p.Orderers[0].Address, ":")
	if !ok {
		t.Fatalf("orderer address %q", p.Orderers[0].Address)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "..", "network", "ctl.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// ctl.sh computes ports from BASE_PORT; orderer1 listens on BASE_PORT.
	return netctl{dir: p.NetworkDir, base: port, script: script}
}

func (n netctl) run(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{n.script}, args...)...)
	cmd.Env = append(os.Environ(), "NETWORK_DIR="+n.dir, "BASE_PORT="+n.base)
	out, err := cmd.CombinedOutput()
	t.Logf("ctl.sh %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ctl.sh %s: %v", strings.Join(args, " "), err)
	}
}

var leaderLine = regexp.MustCompile(`^\S*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+).*Raft leader changed: \d+ -> ([1-9]\d*)`)

// raftLeader is the orderer that the latest "Raft leader changed" line of
// the orderers' logs names.
func (n netctl) raftLeader(t testing.TB, p Profile) string {
	t.Helper()
	var at, leader string
	for _, o := range p.Orderers {
		f, err := os.Open(filepath.Join(n.dir, "logs", o.Name+".log"))
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			line := strings.ReplaceAll(s.Text(), "\x1b[", "")
			if m := leaderLine.FindStringSubmatch(line); m != nil && m[1] >= at {
				at, leader = m[1], "orderer"+m[2]
			}
		}
		f.Close()
	}
	if leader == "" {
		t.Fatal("no Raft leader in the orderers' logs")
	}
	return leader
}

// height is the block height of an organisation's own peer.
func height(ctx context.Context, l *Ledger, msp string) (uint64, error) {
	g := l.orgs[msp].gws[0]
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := g.qscc.EvaluateWithContext(ctx, "GetChainInfo", client.WithArguments(l.channel))
	if err != nil {
		return 0, err
	}
	info := &common.BlockchainInfo{}
	if err := proto.Unmarshal(raw, info); err != nil {
		return 0, err
	}
	return info.GetHeight(), nil
}

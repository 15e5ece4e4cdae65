package gateway

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/auth"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// DemoInfo describes a seeded demo: who can sign in, with which key, and
// the manifests in every state.
type DemoInfo struct {
	Seeded    time.Time      `json:"seeded"`
	Users     []DemoUser     `json:"users"`
	Manifests []DemoManifest `json:"manifests"`
	Custodial DemoCustodial  `json:"custodial"`
}

// DemoUser is a demo sign-in and the device key its holder signs with.
type DemoUser struct {
	Username string    `json:"username"`
	Password string    `json:"password"`
	Role     auth.Role `json:"role"`
	Org      string    `json:"org"`
	OrgName  string    `json:"org_name"`
	KeyFile  string    `json:"key_file,omitempty"` // private JWK, relative to the demo directory
	KeyID    string    `json:"kid,omitempty"`
}

// DemoManifest is a seeded manifest.
type DemoManifest struct {
	ID       string          `json:"id"`
	Stream   string          `json:"stream"`
	Status   manifest.Status `json:"status"`
	Producer string          `json:"producer"`
	Note     string          `json:"note,omitempty"`
}

// DemoCustodial names the organisation that signs by code.
type DemoCustodial struct {
	Org     string `json:"org"`
	OrgName string `json:"org_name"`
	KeyID   string `json:"kid"`
}

// User returns the demo user with the name.
func (d *DemoInfo) User(name string) (DemoUser, bool) {
	for _, u := range d.Users {
		if u.Username == name {
			return u, true
		}
	}
	return DemoUser{}, false
}

// Find returns the first seeded manifest of the stream and status.
func (d *DemoInfo) Find(stream string, status manifest.Status) (DemoManifest, bool) {
	for _, m := range d.Manifests {
		if m.Stream == stream && m.Status == status && m.Note == "" {
			return m, true
		}
	}
	return DemoManifest{}, false
}

const metaDemo = "demo"

// ledgerHost runs the scenario's transactions through the server's ledger.
type ledgerHost struct{ s *Server }

func (h ledgerHost) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	r, err := h.s.submit(ctx, c, fn, args...)
	return r.Payload, err
}

func (h ledgerHost) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.s.ledger.Evaluate(ctx, c, fn, args...)
}

// SeedDemo seeds a realistic Guangdong scenario, once: the regulators, a
// producer for each of the four waste streams, carriers with registered
// vehicles, licensed receivers, users with generated passwords and device
// keys (written under dir: credentials.txt, keys/<user>.jwk, demo.json), a
// custodial key for the hospital (sign by code), and manifests in every
// state for every stream, each step really signed by its parties. Seeding
// an already seeded gateway does nothing and returns the first seeding's
// information; fresh reports whether this call seeded.
func (s *Server) SeedDemo(ctx context.Context, dir string) (info *DemoInfo, fresh bool, err error) {
	if _, err := s.store.Meta(ctx, metaDemo); err == nil {
		b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
		if err != nil {
			return nil, false, fmt.Errorf("demo: already seeded, but %w", err)
		}
		var d DemoInfo
		if err := manifest.Decode(b, &d); err != nil {
			return nil, false, fmt.Errorf("demo: %w", err)
		}
		return &d, false, nil
	} else if manifest.CodeOf(err) != manifest.NotFound {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	w := scenario.NewWorld()
	h := ledgerHost{s}
	if err := w.Setup(ctx, h); err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	d := &DemoInfo{Seeded: s.cfg.Now().UTC().Truncate(time.Second)}

	// People. The party key of each organisation goes to the person who
	// signs for it day to day.
	type person struct {
		party *scenario.Party
		name  string
		role  auth.Role
		key   bool
	}
	people := []person{
		{w.Province, "gdee-admin", auth.Admin, false},
		{w.Province, "gdee-officer", auth.Regulator, true},
		{w.City, "gz-officer", auth.Regulator, true},
		{w.Factory, "factory-admin", auth.Admin, false},
		{w.Factory, "factory-clerk", auth.ProducerClerk, true},
		{w.Hospital, "hospital-admin", auth.Admin, false},
		{w.Hospital, "hospital-clerk", auth.ProducerClerk, true},
		{w.Incinerator, "incinerator-clerk", auth.ProducerClerk, true},
		{w.Dismantler, "dismantler-clerk", auth.ProducerClerk, true},
		{w.Hauler, "hauler-admin", auth.Admin, false},
		{w.Hauler, "hauler-driver", auth.Driver, true},
		{w.Relay, "relay-driver", auth.Driver, true},
		{w.Medical, "medical-driver", auth.Driver, true},
		{w.HWPlant, "hwplant-clerk", auth.ReceiverClerk, true},
		{w.MedPlant, "medplant-clerk", auth.ReceiverClerk, true},
		{w.CementKiln, "kiln-clerk", auth.ReceiverClerk, true},
		{w.Recycler, "recycler-clerk", auth.ReceiverClerk, true},
		{w.LeadSmelter, "smelter-clerk", auth.ReceiverClerk, true},
	}
	for _, p := range people {
		_, password, err := s.CreateUser(ctx, p.party.Org.ID, p.name, p.role, "")
		if err != nil {
			return nil, false, fmt.Errorf("demo: user %s: %w", p.name, err)
		}
		u := DemoUser{Username: p.name, Password: password, Role: p.role, Org: p.party.Org.ID, OrgName: p.party.Org.Name}
		if p.key {
			u.KeyFile = filepath.Join("keys", p.name+".jwk")
			u.KeyID = p.party.KID
			if err := writeKey(filepath.Join(dir, u.KeyFile), p.party.Key); err != nil {
				return nil, false, err
			}
		}
		d.Users = append(d.Users, u)
	}

	// Sign by code for the hospital, which has no device at the loading bay.
	k, err := s.CreateCustodialKey(ctx, auth.Actor{Subject: "hospital-admin", Org: w.Hospital.Org.ID, Role: auth.Admin, MSP: w.Hospital.Org.MSP}, w.Hospital.Org.ID)
	if err != nil {
		return nil, false, fmt.Errorf("demo: custodial key: %w", err)
	}
	d.Custodial = DemoCustodial{Org: w.Hospital.Org.ID, OrgName: w.Hospital.Org.Name, KeyID: k.ID}
	// The province signs the indicator snapshots it publishes with a key
	// the gateway holds for it.
	if _, err := s.CreateCustodialKey(ctx, auth.Actor{Subject: "gdee-admin", Org: w.Province.Org.ID, Role: auth.Admin, MSP: w.Province.Org.MSP}, w.Province.Org.ID); err != nil {
		return nil, false, fmt.Errorf("demo: custodial key of the regulator: %w", err)
	}

	// Manifests in every state, four streams in parallel.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		// Battery serials start at random: a unit stays claimed while its
		// manifest is open, and a second demo on the same long-lived ledger
		// must not reuse the first one's packs.
		units = rand.IntN(9_000_000)
	)
	nextUnits := func(n int) []string {
		mu.Lock()
		defer mu.Unlock()
		out := make([]string, n)
		for i := range out {
			units++
			out[i] = scenario.BatteryCode(units)
		}
		return out
	}
	streams := []struct {
		name string
		trip func() *scenario.Trip
	}{
		{"industrial", func() *scenario.Trip { return w.OilTrip(false) }},
		{"medical", func() *scenario.Trip { return w.MedicalTrip(6 * time.Hour) }},
		{"fly_ash", func() *scenario.Trip { return w.FlyAshTrip(18_000) }},
		{"battery", func() *scenario.Trip { return w.BatteryTrip(nextUnits(3)...) }},
	}
	states := []manifest.Status{manifest.StatusDraft, manifest.StatusSigned, manifest.StatusInTransit, manifest.StatusDelivered,
		manifest.StatusReceived, manifest.StatusProcessed, manifest.StatusClosed, manifest.StatusCancelled}
	for _, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []DemoManifest
			add := func(t *scenario.Trip, status manifest.Status, note string) {
				m := t.Manifest()
				got = append(got, DemoManifest{ID: m.ID, Stream: string(m.Stream), Status: m.Status, Producer: m.Producer, Note: note})
			}
			for _, status := range states {
				t := st.trip()
				var err error
				if status == manifest.StatusCancelled {
					if err = t.Run(ctx, h, manifest.StatusSigned); err == nil {
						err = t.Cancel(ctx, h, "计划变更，本批次暂不转移 / plan changed, not shipped")
					}
				} else {
					err = t.Run(ctx, h, status)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s to %s: %w", st.name, status, err))
					mu.Unlock()
					return
				}
				add(t, status, "")
			}
			switch st.name {
			case "industrial":
				// A relayed load between its two carriers.
				t := w.OilTrip(true)
				err := t.Create(ctx, h)
				if err == nil {
					err = t.SignByProducer(ctx, h)
				}
				if err == nil {
					err = t.Pickup(ctx, h)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("relay trip: %w", err))
					mu.Unlock()
					return
				}
				add(t, manifest.StatusInTransit, "relay pending: 广东粤安 hands over to 佛山南顺")
				// Lead-acid batteries, closed.
				lt := w.LeadTrip()
				if err := lt.Run(ctx, h, manifest.StatusClosed); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("lead trip: %w", err))
					mu.Unlock()
					return
				}
				add(lt, manifest.StatusClosed, "waste lead-acid batteries (HW31) to the smelter")
			case "medical":
				t := w.MedicalTrip(2 * time.Hour)
				if err := t.Run(ctx, h, manifest.StatusSigned); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("sign-by-code trip: %w", err))
					mu.Unlock()
					return
				}
				add(t, manifest.StatusSigned, "sign by code: the hospital issues a code, the driver types it")
			}
			mu.Lock()
			d.Manifests = append(d.Manifests, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}

	b, _ := json.MarshalIndent(d, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "demo.json"), b, 0o600); err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials.txt"), []byte(d.CredentialsText()), 0o600); err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	if err := s.store.SetMeta(ctx, metaDemo, d.Seeded.Format(time.RFC3339)); err != nil {
		return nil, false, err
	}
	return d, true, nil
}

func writeKey(path string, k *ecdsa.PrivateKey) error {
	if err := os.WriteFile(path, append(signature.MarshalPrivateJWK(k), '\n'), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// CredentialsText is the table of demo sign-ins.
func (d *DemoInfo) CredentialsText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# wasteledger demo users, seeded %s. Demo only: never reuse these.\n", d.Seeded.Format(time.RFC3339))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tPASSWORD\tROLE\tORGANISATION\tKEY FILE")
	for _, u := range d.Users {
		key := u.KeyFile
		if key == "" {
			key = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\n", u.Username, u.Password, u.Role, u.OrgName, u.Org, key)
	}
	tw.Flush()
	return b.String()
}

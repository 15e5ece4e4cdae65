package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"wasteledger/chaincode"
	"wasteledger/manifest"
)

// kv is the test contract: a key-value store and counters, with the
// functions the semantics tests need. gates lets a test hold a transaction
// between its reads and its return, to interleave commits
// deterministically.
type kv struct {
	mu    sync.Mutex
	gates map[string]chan struct{} // name → closed to release; "entered" signalled on the paired channel
	enter map[string]chan struct{}
	// incrBy is what "incr" adds; Verify with a contract whose incrBy
	// differs must find the divergence.
	incrBy int
}

func newKV() *kv {
	return &kv{gates: map[string]chan struct{}{}, enter: map[string]chan struct{}{}, incrBy: 1}
}

// gate makes the next transaction that passes gate name wait until release
// is called; entered is closed when it arrives there.
func (c *kv) gate(name string) (entered <-chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, e := make(chan struct{}), make(chan struct{})
	c.gates[name], c.enter[name] = g, e
	return e, func() { close(g) }
}

func (c *kv) wait(name string) {
	if name == "" {
		return
	}
	c.mu.Lock()
	g, e := c.gates[name], c.enter[name]
	delete(c.gates, name)
	delete(c.enter, name)
	c.mu.Unlock()
	if g != nil {
		close(e)
		<-g
	}
}

var errRefused = manifest.Errorf(manifest.RuleViolation, "refused by the test contract")

func arg(args [][]byte, i int) string {
	if i < len(args) {
		return string(args[i])
	}
	return ""
}

func (c *kv) Invoke(st chaincode.State, fn string, args [][]byte) ([]byte, error) {
	switch fn {
	case "put": // key, value [, event payload]
		if err := st.Put(arg(args, 0), []byte(arg(args, 1))); err != nil {
			return nil, err
		}
		payload := []byte(arg(args, 0))
		if len(args) > 2 {
			payload = args[2]
		}
		return nil, st.Emit("put", payload)
	case "putEmbed": // key, value: the event and the response carry the value, as the real contract's do
		v := []byte(arg(args, 1))
		if err := st.Put(arg(args, 0), v); err != nil {
			return nil, err
		}
		return v, st.Emit("embed", append(append([]byte(`{"doc":`), v...), '}'))
	case "putQuiet": // key, value: no event, and ignores Put's error
		st.Put(arg(args, 0), []byte(arg(args, 1)))
		return []byte("ok"), nil
	case "get":
		return st.Get(arg(args, 0))
	case "del":
		return nil, st.Put(arg(args, 0), nil)
	case "incr": // key [, gate]
		v, err := st.Get(arg(args, 0))
		if err != nil {
			return nil, err
		}
		n, _ := strconv.Atoi(string(v))
		c.wait(arg(args, 1))
		n += c.incrBy
		out := []byte(strconv.Itoa(n))
		if err := st.Put(arg(args, 0), out); err != nil {
			return nil, err
		}
		return out, st.Emit("incr", out)
	case "putTwiceThenRead": // key: proves a Get does not see the transaction's own Puts
		k := arg(args, 0)
		if err := st.Put(k, []byte("first")); err != nil {
			return nil, err
		}
		if err := st.Put(k, []byte("second")); err != nil {
			return nil, err
		}
		v, err := st.Get(k)
		if err != nil {
			return nil, err
		}
		return append([]byte("read:"), v...), nil
	case "fail": // writes and emits, then refuses
		st.Put(arg(args, 0), []byte("should not exist"))
		st.Emit("fail", []byte("should not exist"))
		return nil, errRefused
	case "rangeSum": // prefix, result key [, gate]: sums the integers under prefix
		sum := 0
		var keys []string
		err := st.Range(arg(args, 0), func(k string, v []byte) error {
			n, _ := strconv.Atoi(string(v))
			sum += n
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			return nil, err
		}
		c.wait(arg(args, 2))
		if err := st.Put(arg(args, 1), []byte(strconv.Itoa(sum))); err != nil {
			return nil, err
		}
		return json.Marshal(keys)
	case "rangeFirst": // prefix, result key: reads only the first key of the range
		var first string
		stop := errors.New("stop")
		err := st.Range(arg(args, 0), func(k string, v []byte) error {
			first = k
			return stop
		})
		if err != nil && err != stop {
			return nil, err
		}
		c.wait(arg(args, 2))
		return []byte(first), st.Put(arg(args, 1), []byte(first))
	case "history":
		h, err := st.History(arg(args, 0))
		if err != nil {
			return nil, err
		}
		return json.Marshal(h)
	case "whoami": // tx id, time, caller as the contract sees them
		return json.Marshal(map[string]any{"tx_id": st.TxID(), "time": st.TxTime(), "caller": st.Caller()})
	case "emitTwice":
		st.Emit("first", []byte("1"))
		return nil, st.Emit("second", []byte("2"))
	}
	return nil, manifest.Errorf(manifest.Invalid, "unknown function %q", fn)
}

var alice = chaincode.Caller{MSP: "ProducerMSP", ID: "alice"}

type testLedger struct {
	*Ledger
	cfg Config
	cc  *kv
}

// newLedger creates and opens a ledger in a temporary directory; tune
// changes the config first.
func newLedger(t testing.TB, tune func(*Config)) *testLedger {
	t.Helper()
	cfg := Config{Path: filepath.Join(t.TempDir(), "ledger.db"), NoSync: true, waitFull: true}
	if tune != nil {
		tune(&cfg)
	}
	ctx := context.Background()
	if _, err := Init(ctx, cfg); err != nil {
		t.Fatalf("Init: %v", err)
	}
	cc := newKV()
	l, err := Open(ctx, cfg, cc)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return &testLedger{Ledger: l, cfg: cfg, cc: cc}
}

func (tl *testLedger) submit(t testing.TB, fn string, args ...string) Receipt {
	t.Helper()
	r, err := tl.Submit(context.Background(), alice, fn, bs(args...)...)
	if err != nil {
		t.Fatalf("Submit(%s %q) error: %v", fn, args, err)
	}
	return r
}

func (tl *testLedger) get(t testing.TB, key string) string {
	t.Helper()
	v, err := tl.Evaluate(context.Background(), alice, "get", []byte(key))
	if err != nil {
		t.Fatalf("Evaluate(get %q): %v", key, err)
	}
	return string(v)
}

func bs(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// result of a Submit run in a goroutine.
type submitted struct {
	r   Receipt
	err error
}

func (tl *testLedger) submitAsync(fn string, args ...string) <-chan submitted {
	ch := make(chan submitted, 1)
	go func() {
		r, err := tl.Submit(context.Background(), alice, fn, bs(args...)...)
		ch <- submitted{r, err}
	}()
	return ch
}

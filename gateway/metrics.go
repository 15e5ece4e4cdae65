package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wasteledger/manifest"
)

// metrics are the gateway's Prometheus series, written in the text
// exposition format (version 0.0.4) without a client library.
type metrics struct {
	started time.Time

	mu       sync.RWMutex
	requests map[reqKey]*histogram // by route, method, status
	submits  map[subKey]*histogram // by function, outcome code

	indexLag atomic.Int64 // events; -1 unknown
}

type reqKey struct {
	route, method string
	status        int
}

type subKey struct{ fn, code string }

// Buckets in seconds: from 1 ms to 10 s.
var buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts [14]atomic.Uint64 // len(buckets) + the +Inf bucket
	sumNS  atomic.Int64
	n      atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := sort.SearchFloat64s(buckets, s) // first bucket >= s
	h.counts[i].Add(1)
	h.sumNS.Add(int64(d))
	h.n.Add(1)
}

func newMetrics() *metrics {
	m := &metrics{started: time.Now(), requests: map[reqKey]*histogram{}, submits: map[subKey]*histogram{}}
	m.indexLag.Store(-1)
	return m
}

func (m *metrics) observeHTTP(route, method string, status int, d time.Duration) {
	k := reqKey{route, method, status}
	m.mu.RLock()
	h, ok := m.requests[k]
	m.mu.RUnlock()
	if !ok {
		m.mu.Lock()
		if h, ok = m.requests[k]; !ok {
			h = &histogram{}
			m.requests[k] = h
		}
		m.mu.Unlock()
	}
	h.observe(d)
}

func (m *metrics) observeSubmit(fn string, err error, d time.Duration) {
	code := "ok"
	if err != nil {
		code = string(manifest.CodeOf(err))
	}
	k := subKey{fn, code}
	m.mu.RLock()
	h, ok := m.submits[k]
	m.mu.RUnlock()
	if !ok {
		m.mu.Lock()
		if h, ok = m.submits[k]; !ok {
			h = &histogram{}
			m.submits[k] = h
		}
		m.mu.Unlock()
	}
	h.observe(d)
}

// write writes every series.
func (m *metrics) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m.mu.RLock()
	reqs := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		reqs = append(reqs, k)
	}
	subs := make([]subKey, 0, len(m.submits))
	for k := range m.submits {
		subs = append(subs, k)
	}
	m.mu.RUnlock()
	sort.Slice(reqs, func(i, j int) bool {
		a, b := reqs[i], reqs[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.status < b.status
	})
	sort.Slice(subs, func(i, j int) bool {
		if subs[i].fn != subs[j].fn {
			return subs[i].fn < subs[j].fn
		}
		return subs[i].code < subs[j].code
	})

	fmt.Fprintln(bw, "# HELP wasteledger_http_requests_total HTTP requests by route template, method and status.")
	fmt.Fprintln(bw, "# TYPE wasteledger_http_requests_total counter")
	for _, k := range reqs {
		h := m.get(k)
		fmt.Fprintf(bw, "wasteledger_http_requests_total{route=%s,method=%s,status=\"%d\"} %d\n", q(k.route), q(k.method), k.status, h.n.Load())
	}
	fmt.Fprintln(bw, "# HELP wasteledger_http_request_duration_seconds HTTP request latency by route template, method and status.")
	fmt.Fprintln(bw, "# TYPE wasteledger_http_request_duration_seconds histogram")
	for _, k := range reqs {
		writeHist(bw, "wasteledger_http_request_duration_seconds", fmt.Sprintf("route=%s,method=%s,status=\"%d\"", q(k.route), q(k.method), k.status), m.get(k))
	}
	fmt.Fprintln(bw, "# HELP wasteledger_ledger_submit_duration_seconds Ledger submit latency (to commit) by contract function and outcome code.")
	fmt.Fprintln(bw, "# TYPE wasteledger_ledger_submit_duration_seconds histogram")
	for _, k := range subs {
		m.mu.RLock()
		h := m.submits[k]
		m.mu.RUnlock()
		writeHist(bw, "wasteledger_ledger_submit_duration_seconds", fmt.Sprintf("function=%s,code=%s", q(k.fn), q(k.code)), h)
	}
	fmt.Fprintln(bw, "# HELP wasteledger_index_lag_events Ledger events the manifest index has not applied yet (-1: unknown).")
	fmt.Fprintln(bw, "# TYPE wasteledger_index_lag_events gauge")
	fmt.Fprintf(bw, "wasteledger_index_lag_events %d\n", m.indexLag.Load())
	fmt.Fprintln(bw, "# HELP wasteledger_goroutines Goroutines in the process.")
	fmt.Fprintln(bw, "# TYPE wasteledger_goroutines gauge")
	fmt.Fprintf(bw, "wasteledger_goroutines %d\n", runtime.NumGoroutine())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintln(bw, "# HELP wasteledger_heap_bytes Bytes of allocated heap objects.")
	fmt.Fprintln(bw, "# TYPE wasteledger_heap_bytes gauge")
	fmt.Fprintf(bw, "wasteledger_heap_bytes %d\n", ms.HeapAlloc)
	fmt.Fprintln(bw, "# HELP wasteledger_uptime_seconds Seconds since the server started.")
	fmt.Fprintln(bw, "# TYPE wasteledger_uptime_seconds gauge")
	fmt.Fprintf(bw, "wasteledger_uptime_seconds %s\n", strconv.FormatFloat(time.Since(m.started).Seconds(), 'f', 3, 64))
	return bw.Flush()
}

func (m *metrics) get(k reqKey) *histogram {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.requests[k]
}

func writeHist(w io.Writer, name, labels string, h *histogram) {
	var cum uint64
	for i, le := range buckets {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket{%s,le=\"%s\"} %d\n", name, labels, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	cum += h.counts[len(buckets)].Load()
	fmt.Fprintf(w, "%s_bucket{%s,le=\"+Inf\"} %d\n", name, labels, cum)
	fmt.Fprintf(w, "%s_sum{%s} %s\n", name, labels, strconv.FormatFloat(float64(h.sumNS.Load())/1e9, 'g', -1, 64))
	fmt.Fprintf(w, "%s_count{%s} %d\n", name, labels, cum)
}

// q quotes a label value as the text format wants.
func q(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.updateIndexLag(r)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = s.metrics.write(w)
}

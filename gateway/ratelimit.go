package gateway

import (
	"hash/maphash"
	"sync"
	"time"
)

// limiter is a token bucket per client key: rate tokens per second, at most
// burst saved up. Buckets idle long enough to be full again are dropped.
type limiter struct {
	rate   float64
	burst  float64
	now    func() time.Time
	seed   maphash.Seed
	shards [32]limShard
}

type limShard struct {
	mu    sync.Mutex
	b     map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	l := &limiter{rate: rate, burst: float64(burst), now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].b = make(map[string]*bucket)
	}
	return l
}

// allow takes a token for key; when there is none it reports how long
// until there will be.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l.rate < 0 {
		return true, 0
	}
	now := l.now()
	s := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.swept) > time.Minute {
		s.sweep(now, l.burst/l.rate)
	}
	b, ok := s.b[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		s.b[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops buckets that have refilled completely.
func (s *limShard) sweep(now time.Time, fill float64) {
	s.swept = now
	for k, b := range s.b {
		if now.Sub(b.last).Seconds() > fill {
			delete(s.b, k)
		}
	}
}

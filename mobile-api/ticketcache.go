package mobileapi

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"sync"
	"time"

	"wasteledger/gateway/ticket"
)

// ticketCache remembers the tickets it verified, so that scanning the same
// paper again (drivers and clerks scan a manifest at every stop) does not
// verify its ES256 signature again. What ticket.Verify checks of a token
// is a pure function of the token and the key it names — except whether
// the keyring still publishes that key, and the times — and a remembered
// ticket is answered only when the keyring still publishes the very key it
// verified with and the times still hold; anything else, failures
// included, goes through ticket.Verify.
type ticketCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedTicket
}

type verifiedTicket struct {
	t      ticket.Ticket
	issuer string
	pub    *ecdsa.PublicKey
}

// maxTickets bounds the cache; when full it starts over.
const maxTickets = 8192

func (c *ticketCache) verify(kr ticket.Keyring, token, issuer string, now time.Time) (ticket.Ticket, error) {
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	v, ok := c.m[sum]
	c.mu.Unlock()
	if ok && v.issuer == issuer && v.t.CheckTimes(now) == nil {
		if pub, ok := kr.Public(v.t.KeyID); ok && pub.Equal(v.pub) {
			return v.t, nil
		}
	}
	t, err := ticket.Verify(kr, token, issuer, now)
	if err != nil {
		return t, err
	}
	if pub, ok := kr.Public(t.KeyID); ok {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxTickets {
			c.m = make(map[[sha256.Size]byte]verifiedTicket)
		}
		c.m[sum] = verifiedTicket{t: t, issuer: issuer, pub: pub}
		c.mu.Unlock()
	}
	return t, nil
}

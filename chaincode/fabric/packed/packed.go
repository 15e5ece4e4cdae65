// Package packed stores large world-state values compressed on Fabric. A
// manifest version carries every signed statement of its trip (3–6 KB
// after a few handovers); every endorsing peer, orderer and committing
// peer signs, replicates, validates and stores it, and its history keeps
// every version. Packed, it is less than half that size.
//
// Format: a value that does not start with byte 0 is literal. Otherwise
// the rest is a raw DEFLATE stream (RFC 1951) of the value, one block
// with fixed or dynamic Huffman codes, so any inflate implementation
// (Go's compress/flate, zlib with negative window bits, …) reads it. The
// contract writes JSON or decimal numbers, which never start with 0; a
// value that did would be packed whatever its size, keeping the format
// unambiguous.
//
// Every endorsing peer must write the same bytes, so the encoder is not a
// library's (compress/flate's output may change between Go releases) but
// this package's own: greedy LZ77 over a hash chain, then the fixed codes
// or codes built from the symbols' counts, whichever is shorter — a pure
// function of the value, pinned by a golden test. Changing it changes
// what a new chaincode version writes; peers running the old and the new
// version side by side would then disagree.
package packed

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"

	"wasteledger/internal/recent"
)

// MinLen is the size from which a value is packed: below it DEFLATE saves
// little and the contract's small records stay readable as they are.
const MinLen = 256

// MaxLen bounds the size of an unpacked value: the reader of a block
// (which may hold anyone's invalid transactions) never inflates more.
// Fabric refuses blocks above 100 MB; a contract value is a few KB.
const MaxLen = 64 << 20

const marker = 0

// Packed reports whether v is in the packed form.
func Packed(v []byte) bool { return len(v) > 0 && v[0] == marker }

// Encode returns the form of v to store: packed when v is at least MinLen
// bytes and packing makes it smaller (or when v starts with 0), else v.
func Encode(v []byte) []byte {
	if !Packed(v) && (len(v) < MinLen || len(v) > MaxLen) {
		return v
	}
	out := deflate(v)
	if !Packed(v) && len(out) >= len(v) {
		return v
	}
	return out
}

// Decode returns the value a stored form holds: a literal one as it is, a
// packed one inflated. It fails on a malformed stream, on bytes after its
// end and on a value larger than MaxLen.
func Decode(b []byte) ([]byte, error) { return DecodeMax(b, MaxLen) }

// DecodeMax is Decode with a smaller bound on the value's size: for bytes
// from a client, which a few KB of DEFLATE could make MaxLen bytes.
func DecodeMax(b []byte, max int) ([]byte, error) {
	max = min(max, MaxLen)
	if !Packed(b) {
		return b, nil
	}
	in := bytes.NewReader(b[1:])
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	if err := r.(flate.Resetter).Reset(in, nil); err != nil {
		return nil, fmt.Errorf("packed value: %w", err)
	}
	var out bytes.Buffer
	out.Grow(3 * len(b))
	n, err := out.ReadFrom(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("packed value: %w", err)
	}
	if n > int64(max) {
		return nil, fmt.Errorf("packed value: larger than %d bytes", max)
	}
	if in.Len() != 0 {
		return nil, errors.New("packed value: data after the end of the stream")
	}
	return out.Bytes(), nil
}

var readers = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// The encoder: LZ77 with the longest match among the last maxChain
// positions that share a 3-byte hash, taken greedily, then one block with
// the Huffman codes that suit the value (huffman.go).
const (
	hashBits  = 14
	maxChain  = 16
	window    = 32768
	minMatch  = 3
	maxMatch  = 258
	niceMatch = 32 // a match this long is taken without looking further
)

func deflate(v []byte) []byte {
	return writeBlock(lz77(v), len(v))
}

// A token is a literal byte (0–255) or, with matchFlag, a match:
// (length-3)<<16 | (distance-1).
type token uint32

const matchFlag token = 1 << 31

func match(length, dist int) token { return matchFlag | token(length-minMatch)<<16 | token(dist-1) }

func (t token) isMatch() bool { return t&matchFlag != 0 }
func (t token) length() int   { return int(t>>16&0x1ff) + minMatch }
func (t token) dist() int     { return int(t&0xffff) + 1 }

// lz77 turns v into literals and matches.
func lz77(v []byte) []token {
	toks := make([]token, 0, len(v)/3+8)
	// head[h] and prev[i] hold a position + 1; 0 ends a chain.
	head := make([]int32, 1<<hashBits)
	prev := make([]int32, len(v))
	last := len(v) - minMatch // the last position a 3-byte hash starts at
	for i := 0; i < len(v); {
		bestLen, bestDist := 0, 0
		if i <= last {
			h := hash3(v[i:])
			limit := min(maxMatch, len(v)-i)
			for j, n := int(head[h])-1, 0; j >= 0 && i-j <= window && n < maxChain; j, n = int(prev[j])-1, n+1 {
				if bestLen > 0 && (bestLen >= limit || v[j+bestLen] != v[i+bestLen]) {
					continue // cannot be longer than the best so far
				}
				l := matchLen(v[j:j+limit], v[i:i+limit])
				if l > bestLen {
					bestLen, bestDist = l, i-j
					if l >= niceMatch {
						break
					}
				}
			}
			prev[i], head[h] = head[h], int32(i+1)
		}
		if bestLen < minMatch {
			toks = append(toks, token(v[i]))
			i++
			continue
		}
		toks = append(toks, match(bestLen, bestDist))
		// The positions inside a match are chained too, except in a long
		// one, where they would rarely start a better match.
		end := i + bestLen
		if bestLen <= niceMatch {
			for i++; i < end && i <= last; i++ {
				h := hash3(v[i:])
				prev[i], head[h] = head[h], int32(i+1)
			}
		}
		i = end
	}
	return toks
}

// matchLen is the length of the common prefix of a and b (len(a) ==
// len(b)), compared eight bytes at a time.
func matchLen(a, b []byte) int {
	n := 0
	for len(a)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < len(a) && a[n] == b[n] {
		n++
	}
	return n
}

func hash3(b []byte) uint32 {
	return (uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])) * 2654435761 >> (32 - hashBits)
}

// bitWriter packs bits least significant first, as DEFLATE does (Huffman
// codes go most significant bit first: they are stored reversed).
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= uint64(v) << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc, w.nacc = 0, 0
	}
	return w.out
}

func reverse(c uint32, n uint) uint32 {
	var r uint32
	for range n {
		r = r<<1 | c&1
		c >>= 1
	}
	return r
}

// Length codes 257–285 (RFC 1951 §3.2.5): base length and extra bits.
var lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}

// Distance codes 0–29: base distance and extra bits.
var distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// lengthCode and distCode map a match length (3–258) and a distance
// (1–32768; by d-1 up to 256, by (d-1)>>7 above) to their code's index.
var lengthCode, distCode = func() (lc [maxMatch + 1]uint8, dc [512]uint8) {
	for c := range lengthBase {
		for l := int(lengthBase[c]); l <= maxMatch && l < int(lengthBase[c])+1<<lengthExtra[c]; l++ {
			lc[l] = uint8(c)
		}
	}
	for c := range distBase {
		for d := int(distBase[c]); d < int(distBase[c])+1<<distExtra[c]; d++ {
			if d <= 256 {
				dc[d-1] = uint8(c)
			} else {
				dc[256+(d-1)>>7] = uint8(c)
			}
		}
	}
	return lc, dc
}()

func distCodeOf(d int) int {
	if d <= 256 {
		return int(distCode[d-1])
	}
	return int(distCode[256+(d-1)>>7])
}

// Cache encodes and decodes like Encode and Decode, remembering recent
// packed values both ways. Endorsing peers that share a chaincode server
// write the same document each, and the next transaction on a manifest
// reads the version the server wrote: each is packed once and never
// inflated. Both functions are pure, so a remembered answer is the
// computed one. It holds up to recent.DefaultLimit documents each way
// (some tens of MB). The slices it returns are shared: callers do not
// change them. The zero Cache is ready to use.
type Cache struct {
	byPlain  recent.Map[string, []byte] // value → packed form
	byPacked recent.Map[string, []byte] // packed form → value
}

// Encode is Encode(v), remembered.
func (c *Cache) Encode(v []byte) []byte {
	if !Packed(v) && len(v) < MinLen {
		return v
	}
	if b, ok := recent.GetBytes(&c.byPlain, v); ok {
		return b
	}
	b := Encode(v)
	if Packed(b) {
		c.remember(b, v)
	}
	return b
}

// Decode is Decode(b), remembered.
func (c *Cache) Decode(b []byte) ([]byte, error) {
	if !Packed(b) {
		return b, nil
	}
	if v, ok := recent.GetBytes(&c.byPacked, b); ok {
		return v, nil
	}
	v, err := Decode(b)
	if err == nil {
		c.remember(b, v)
	}
	return v, err
}

func (c *Cache) remember(b, v []byte) {
	c.byPlain.Put(string(v), b)
	c.byPacked.Put(string(b), v)
}

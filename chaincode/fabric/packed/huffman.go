package packed

import "slices"

// The block writer: the tokens of lz77 in one final DEFLATE block, with
// the fixed codes or with codes built for this value (RFC 1951 §3.2.7),
// whichever is shorter. Every choice below (tie-breaks included) is a
// function of the tokens alone.

const (
	numLit      = 286 // literal/length symbols: bytes, end of block, 29 lengths
	numDist     = 30
	endOfBlock  = 256
	maxCodeBits = 15 // literal/length and distance codes
	maxCLBits   = 7  // the code-length code
)

// clOrder is the order in which the code-length code's lengths are sent.
var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// clExtra is the number of extra bits after code-length symbols 16, 17, 18.
var clExtra = [19]uint8{16: 2, 17: 3, 18: 7}

// The fixed codes (RFC 1951 §3.2.6): the canonical codes of these
// lengths, as for any block. The fixed literal/length code has 288
// symbols: the two never used (286, 287) still take their place among the
// 8-bit codes.
var fixedLitCode, fixedDistCode = func() (code, code) {
	var lit [288]uint8
	for s := range lit {
		switch {
		case s < 144:
			lit[s] = 8
		case s < 256:
			lit[s] = 9
		case s < 280:
			lit[s] = 7
		default:
			lit[s] = 8
		}
	}
	dist := make([]uint8, numDist)
	for s := range dist {
		dist[s] = 5
	}
	return newCode(lit[:]), newCode(dist)
}()

// A code is a Huffman code: per symbol its length in bits (0: unused) and
// its bits, reversed for the LSB-first writer.
type code struct {
	lens []uint8
	bits []uint32
}

func newCode(lens []uint8) code {
	var count [maxCodeBits + 1]uint32
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeBits + 1]uint32
	c := uint32(0)
	for n := 1; n <= maxCodeBits; n++ {
		c = (c + count[n-1]) << 1
		next[n] = c
	}
	bits := make([]uint32, len(lens))
	for s, l := range lens {
		if l > 0 {
			bits[s] = reverse(next[l], uint(l))
			next[l]++
		}
	}
	return code{lens: lens, bits: bits}
}

func (c code) write(w *bitWriter, s int) { w.bits(c.bits[s], uint(c.lens[s])) }

// cost is the number of bits the symbols counted in freq take in code c.
func (c code) cost(freq []int) int {
	n := 0
	for s, f := range freq {
		n += f * int(c.lens[s])
	}
	return n
}

// huffLengths returns the lengths of a Huffman code of at most limit bits
// for symbols counted in freq (0 for a symbol never used). At least two
// symbols get a code, so that the code is complete: a count of zero is
// taken as one for the first unused symbols when fewer are used. Over the
// limit, the counts are halved (rounding up) until the code fits.
func huffLengths(freq []int, limit int) []uint8 {
	f := slices.Clone(freq)
	used := 0
	for _, n := range f {
		if n > 0 {
			used++
		}
	}
	for s := 0; used < 2 && s < len(f); s++ {
		if f[s] == 0 {
			f[s], used = 1, used+1
		}
	}
	lens := make([]uint8, len(f))
	for {
		if huffDepths(f, lens) <= limit {
			return lens
		}
		for s := range f {
			f[s] = (f[s] + 1) / 2
		}
	}
}

// huffDepths sets lens to the depths of a Huffman tree for the counts
// (two-queue construction; leaves ordered by count, then symbol; a leaf
// before an internal node of the same weight) and returns the largest.
func huffDepths(f []int, lens []uint8) int {
	leaves := make([]int, 0, len(f))
	for s, n := range f {
		lens[s] = 0
		if n > 0 {
			leaves = append(leaves, s)
		}
	}
	slices.SortFunc(leaves, func(a, b int) int { // by count, then symbol
		if f[a] != f[b] {
			return f[a] - f[b]
		}
		return a - b
	})
	m := len(leaves)
	weight := make([]int, 2*m-1)
	parent := make([]int, 2*m-1)
	for i, s := range leaves {
		weight[i] = f[s]
	}
	leaf, inner, next := 0, m, m
	pick := func() int {
		if leaf < m && (inner >= next || weight[leaf] <= weight[inner]) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for ; next < 2*m-1; next++ {
		a, b := pick(), pick()
		weight[next] = weight[a] + weight[b]
		parent[a], parent[b] = next, next
	}
	// Parents come after their children: depths from the root down.
	depth := make([]int, 2*m-1)
	deepest := 0
	for k := 2*m - 3; k >= 0; k-- {
		depth[k] = depth[parent[k]] + 1
		if k < m {
			lens[leaves[k]] = uint8(min(depth[k], 255))
			deepest = max(deepest, depth[k])
		}
	}
	return deepest
}

// clToken is a symbol of the code-length code with its extra bits.
type clToken struct{ sym, extra uint8 }

// rleLengths encodes a sequence of code lengths with the code-length
// code's repeat symbols: 16 repeats the previous length 3–6 times, 17 and
// 18 write 3–10 and 11–138 zeros.
func rleLengths(seq []uint8) []clToken {
	var out []clToken
	for i := 0; i < len(seq); {
		l := seq[i]
		run := 1
		for i+run < len(seq) && seq[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				n := min(run, 138)
				out = append(out, clToken{18, uint8(n - 11)})
				run -= n
			}
			if run >= 3 {
				out = append(out, clToken{17, uint8(run - 3)})
				run = 0
			}
		} else {
			out = append(out, clToken{l, 0})
			run--
			for run >= 3 {
				n := min(run, 6)
				out = append(out, clToken{16, uint8(n - 3)})
				run -= n
			}
		}
		for ; run > 0; run-- {
			out = append(out, clToken{l, 0})
		}
	}
	return out
}

// writeBlock writes the marker and toks as one final block.
func writeBlock(toks []token, size int) []byte {
	var litFreq [numLit]int
	var distFreq [numDist]int
	for _, t := range toks {
		if t.isMatch() {
			litFreq[257+int(lengthCode[t.length()])]++
			distFreq[distCodeOf(t.dist())]++
		} else {
			litFreq[t]++
		}
	}
	litFreq[endOfBlock]++

	lit, dist := newCode(huffLengths(litFreq[:], maxCodeBits)), newCode(huffLengths(distFreq[:], maxCodeBits))
	hlit, hdist := numLit, numDist
	for hlit > 257 && lit.lens[hlit-1] == 0 {
		hlit--
	}
	for hdist > 1 && dist.lens[hdist-1] == 0 {
		hdist--
	}
	rle := rleLengths(append(slices.Clone(lit.lens[:hlit]), dist.lens[:hdist]...))
	var clFreq [19]int
	for _, t := range rle {
		clFreq[t.sym]++
	}
	cl := newCode(huffLengths(clFreq[:], maxCLBits))
	hclen := len(clOrder)
	for hclen > 4 && cl.lens[clOrder[hclen-1]] == 0 {
		hclen--
	}
	header := 5 + 5 + 4 + 3*hclen
	for _, t := range rle {
		header += int(cl.lens[t.sym]) + int(clExtra[t.sym])
	}
	dynamic := header+lit.cost(litFreq[:])+dist.cost(distFreq[:]) <
		fixedLitCode.cost(litFreq[:])+fixedDistCode.cost(distFreq[:])

	w := bitWriter{out: make([]byte, 1, size/2+16)} // out[0] is the marker
	w.bits(1, 1)                                    // BFINAL
	if dynamic {
		w.bits(2, 2) // BTYPE 10: dynamic Huffman codes
		w.bits(uint32(hlit-257), 5)
		w.bits(uint32(hdist-1), 5)
		w.bits(uint32(hclen-4), 4)
		for _, s := range clOrder[:hclen] {
			w.bits(uint32(cl.lens[s]), 3)
		}
		for _, t := range rle {
			cl.write(&w, int(t.sym))
			w.bits(uint32(t.extra), uint(clExtra[t.sym]))
		}
	} else {
		w.bits(1, 2) // BTYPE 01: fixed Huffman codes
		lit, dist = fixedLitCode, fixedDistCode
	}
	for _, t := range toks {
		if !t.isMatch() {
			lit.write(&w, int(t))
			continue
		}
		l, d := t.length(), t.dist()
		lc, dc := int(lengthCode[l]), distCodeOf(d)
		lit.write(&w, 257+lc)
		w.bits(uint32(l-int(lengthBase[lc])), uint(lengthExtra[lc]))
		dist.write(&w, dc)
		w.bits(uint32(d-int(distBase[dc])), uint(distExtra[dc]))
	}
	lit.write(&w, endOfBlock)
	return w.flush()
}

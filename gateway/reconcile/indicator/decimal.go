package indicator

import (
	"math/big"
	"strings"
)

// ratio returns num/den × scale as a decimal string with places decimals,
// rounded half up; ok is false when den is 0. All integer arithmetic.
func ratio(num, den, scale int64, places int) (string, bool) {
	if den == 0 {
		return "", false
	}
	p := big.NewInt(10)
	p.Exp(p, big.NewInt(int64(places)), nil)
	n := new(big.Int).Mul(big.NewInt(num), big.NewInt(scale))
	n.Mul(n, p)
	// round half up: (2n + d) / 2d
	n.Mul(n, big.NewInt(2))
	d := new(big.Int).Mul(big.NewInt(den), big.NewInt(2))
	n.Add(n, big.NewInt(den))
	q := new(big.Int).Div(n, d)
	return fixed(q, places), true
}

// fixed formats q / 10^places.
func fixed(q *big.Int, places int) string {
	s := q.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if places > 0 {
		if len(s) <= places {
			s = strings.Repeat("0", places-len(s)+1) + s
		}
		s = s[:len(s)-places] + "." + s[len(s)-places:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// tonnes formats grams as tonnes, exactly (6 decimals).
func tonnes(g int64) string { return fixed(big.NewInt(g), 6) }

func count(n int64) string { return big.NewInt(n).String() }

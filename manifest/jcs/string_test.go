package jcs_test

import (
	"fmt"
	"strings"
	"testing"

	"wasteledger/manifest/jcs"
)

// refAppendString is RFC 8785 §3.2.2.2 written plainly, byte by byte.
func refAppendString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestAppendStringEveryPosition puts each character that needs escaping (and
// its neighbours in byte value) at every offset of strings around the
// eight-byte steps AppendString takes.
func TestAppendStringEveryPosition(t *testing.T) {
	specials := []string{"\"", "\\", "\x00", "\x01", "\x1f", "\n", " ", "!", "#", "[", "]", "\x7f", "é", "广", "\U0001F600"}
	for n := 0; n <= 34; n++ {
		for at := 0; at <= n; at++ {
			for _, sp := range specials {
				for _, fill := range []string{"a", "广"} {
					s := strings.Repeat("x", at) + sp + strings.Repeat(fill, n-at)
					if got, want := string(jcs.AppendString(nil, s)), refAppendString(s); got != want {
						t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
					}
				}
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain ASCII text, long enough for a few words")
	f.Add(`{"from":{"key":"D16E","org":"9144"},"step":"pickup"}`)
	f.Add("广州\x00\x1f\"\\\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(jcs.AppendString(nil, s)), refAppendString(s); got != want {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

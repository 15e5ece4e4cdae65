package gateway

import (
	"strconv"
	"unicode/utf8"

	"wasteledger/gateway/index"
)

// appendPage appends the JSON of a page of manifests exactly as
// encoding/json encodes index.Page (a test keeps them equal), without its
// reflection: a list answer holds hundreds of fields.
func appendPage(b []byte, p index.Page) ([]byte, error) {
	b = append(b, `{"items":`...)
	if p.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Items {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendSummary(b, &p.Items[i]); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if p.Next != "" {
		b = append(b, `,"next":`...)
		b = appendJSONString(b, p.Next)
	}
	return append(b, '}'), nil
}

func appendSummary(b []byte, s *index.Summary) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(s.Status))
	b = append(b, `,"stream":`...)
	b = appendJSONString(b, s.Stream)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(s.Version), 10)
	b = append(b, `,"hash":`...)
	b = appendJSONString(b, s.Hash)
	b = append(b, `,"producer":`...)
	b = appendJSONString(b, s.Producer)
	b = append(b, `,"producer_name":`...)
	b = appendJSONString(b, s.ProducerName)
	b = append(b, `,"receiver":`...)
	b = appendJSONString(b, s.Receiver)
	b = append(b, `,"receiver_name":`...)
	b = appendJSONString(b, s.ReceiverName)
	b = append(b, `,"carriers":`...)
	b = appendJSONStrings(b, s.Carriers)
	b = append(b, `,"region":`...)
	b = appendJSONString(b, s.Region)
	b = append(b, `,"codes":`...)
	b = appendJSONStrings(b, s.Codes)
	b = append(b, `,"declared_g":`...)
	b = strconv.AppendInt(b, s.DeclaredG, 10)
	b = append(b, `,"accepted_g":`...)
	b = strconv.AppendInt(b, s.AcceptedG, 10)
	if s.NextStep != "" {
		b = append(b, `,"next_step":`...)
		b = appendJSONString(b, string(s.NextStep))
	}
	if len(s.WaitingFor) > 0 {
		b = append(b, `,"waiting_for":`...)
		b = appendJSONStrings(b, s.WaitingFor)
	}
	b = append(b, `,"flags":`...)
	b = strconv.AppendInt(b, int64(s.Flags), 10)
	for _, t := range []struct {
		name string
		v    interface{ MarshalJSON() ([]byte, error) }
	}{{`,"created":`, s.Created}, {`,"updated":`, s.Updated}} {
		j, err := t.v.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(b, t.name...)
		b = append(b, j...)
	}
	return append(b, '}'), nil
}

func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString is encoding/json's string encoding with HTML escaping
// (its default).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

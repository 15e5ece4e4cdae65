package jcs

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// The encoder writes the canonical form of a Go value directly, with the
// result encoding/json followed by Canonicalize would give, but without
// producing and re-parsing an intermediate text. Types whose encoding it
// does not reproduce exactly (custom marshalers other than time.Time and
// json.RawMessage-like value marshalers, float32, the ",string" and
// ",omitzero" options, ambiguous embedded fields) make Marshal take the
// slow path; a test compares both paths on every type the contract stores.

var errSlowPath = errors.New("jcs: use the slow path")

type encoderFunc func(dst []byte, v reflect.Value) ([]byte, error)

var encoders sync.Map // reflect.Type → encoderFunc

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	timeType          = reflect.TypeFor[time.Time]()
	numberType        = reflect.TypeFor[json.Number]()
)

// sizes holds, per type, the length of its latest encoding: the next
// buffer starts a quarter larger, so that a document (which grows a step at
// a time) is written without reallocating.
var sizes sync.Map // reflect.Type → *atomic.Int64

func fastMarshal(v any) ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	last, ok := sizes.Load(t)
	if !ok {
		last, _ = sizes.LoadOrStore(t, new(atomic.Int64))
	}
	n := last.(*atomic.Int64)
	hint := n.Load()
	b, err := typeEncoder(t)(make([]byte, 0, max(512, hint+hint/4)), rv)
	if err == nil {
		n.Store(int64(len(b)))
	}
	return b, err
}

func typeEncoder(t reflect.Type) encoderFunc {
	if f, ok := encoders.Load(t); ok {
		return f.(encoderFunc)
	}
	// A placeholder breaks cycles of recursive types while the real
	// encoder is built.
	var (
		wg sync.WaitGroup
		f  encoderFunc
	)
	wg.Add(1)
	fi, loaded := encoders.LoadOrStore(t, encoderFunc(func(dst []byte, v reflect.Value) ([]byte, error) {
		wg.Wait()
		return f(dst, v)
	}))
	if loaded {
		return fi.(encoderFunc)
	}
	f = newTypeEncoder(t)
	wg.Done()
	encoders.Store(t, f)
	return f
}

func newTypeEncoder(t reflect.Type) encoderFunc {
	if t == timeType {
		return timeEncoder
	}
	if t == numberType {
		return slowEncoder // json.Number is written as the number it holds
	}
	if t.Implements(marshalerType) {
		return marshalerEncoder
	}
	if reflect.PointerTo(t).Implements(marshalerType) || t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return slowEncoder
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(dst []byte, v reflect.Value) ([]byte, error) { return strconv.AppendBool(dst, v.Bool()), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(dst []byte, v reflect.Value) ([]byte, error) { return appendInt(dst, v.Int()), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(dst []byte, v reflect.Value) ([]byte, error) { return appendUint(dst, v.Uint()), nil }
	case reflect.Float64:
		return float64Encoder
	case reflect.String:
		return func(dst []byte, v reflect.Value) ([]byte, error) { return appendValidString(dst, v.String()), nil }
	case reflect.Pointer:
		elem := typeEncoder(t.Elem())
		return func(dst []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(dst, "null"...), nil
			}
			return elem(dst, v.Elem())
		}
	case reflect.Interface:
		return func(dst []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(dst, "null"...), nil
			}
			e := v.Elem()
			return typeEncoder(e.Type())(dst, e)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(marshalerType) && !reflect.PointerTo(t.Elem()).Implements(marshalerType) &&
			!t.Elem().Implements(textMarshalerType) && !reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
			return bytesEncoder
		}
		elem := typeEncoder(t.Elem())
		return func(dst []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(dst, "null"...), nil
			}
			return encodeArray(dst, v, elem)
		}
	case reflect.Array:
		elem := typeEncoder(t.Elem())
		return func(dst []byte, v reflect.Value) ([]byte, error) { return encodeArray(dst, v, elem) }
	case reflect.Map:
		return newMapEncoder(t)
	case reflect.Struct:
		return newStructEncoder(t)
	}
	return slowEncoder
}

func appendInt(dst []byte, i int64) []byte {
	if i > 1<<53 || i < -(1<<53) {
		return appendNumber(dst, float64(i)) // as a double, the way JavaScript reads it
	}
	return strconv.AppendInt(dst, i, 10)
}

func appendUint(dst []byte, u uint64) []byte {
	if u > 1<<53 {
		return appendNumber(dst, float64(u))
	}
	return strconv.AppendUint(dst, u, 10)
}

func float64Encoder(dst []byte, v reflect.Value) ([]byte, error) {
	f := v.Float()
	if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
		return nil, errSlowPath // encoding/json refuses NaN and infinities; let it say so
	}
	return appendNumber(dst, f), nil
}

func timeEncoder(dst []byte, v reflect.Value) ([]byte, error) {
	t := v.Interface().(time.Time)
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, errSlowPath
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

func marshalerEncoder(dst []byte, v reflect.Value) ([]byte, error) {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return append(dst, "null"...), nil
	}
	b, err := v.Interface().(json.Marshaler).MarshalJSON()
	if err != nil {
		return nil, errSlowPath
	}
	p := parser{in: b}
	out, err := p.value(dst)
	if err != nil {
		return nil, errSlowPath
	}
	return out, nil
}

func slowEncoder(dst []byte, v reflect.Value) ([]byte, error) { return nil, errSlowPath }

func bytesEncoder(dst []byte, v reflect.Value) ([]byte, error) {
	if v.IsNil() {
		return append(dst, "null"...), nil
	}
	b := v.Bytes()
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"'), nil
}

func encodeArray(dst []byte, v reflect.Value, elem encoderFunc) ([]byte, error) {
	dst = append(dst, '[')
	var err error
	for i := range v.Len() {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = elem(dst, v.Index(i)); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

func newMapEncoder(t reflect.Type) encoderFunc {
	k := t.Key()
	if k.Implements(textMarshalerType) || reflect.PointerTo(k).Implements(textMarshalerType) {
		return slowEncoder
	}
	var keyString func(reflect.Value) string
	switch k.Kind() {
	case reflect.String:
		keyString = func(v reflect.Value) string { return v.String() }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		keyString = func(v reflect.Value) string { return strconv.FormatInt(v.Int(), 10) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		keyString = func(v reflect.Value) string { return strconv.FormatUint(v.Uint(), 10) }
	default:
		return slowEncoder
	}
	elem := typeEncoder(t.Elem())
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		type kv struct {
			k string
			v reflect.Value
		}
		kvs := make([]kv, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			kvs = append(kvs, kv{validUTF8(keyString(it.Key())), it.Value()})
		}
		slices.SortFunc(kvs, func(a, b kv) int { return compareUTF16(a.k, b.k) })
		dst = append(dst, '{')
		var err error
		for i, e := range kvs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, e.k)
			dst = append(dst, ':')
			if dst, err = elem(dst, e.v); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
}

// field is one encoded struct field.
type field struct {
	name      string
	nameJSON  []byte // "name":
	index     []int
	omitEmpty bool
	enc       encoderFunc
}

func newStructEncoder(t reflect.Type) encoderFunc {
	fields, ok := structFields(t)
	if !ok {
		return slowEncoder
	}
	slices.SortFunc(fields, func(a, b field) int { return compareUTF16(a.name, b.name) })
	for i := range fields {
		fields[i].nameJSON = append(AppendString(nil, fields[i].name), ':')
		fields[i].enc = typeEncoder(t.FieldByIndex(fields[i].index).Type)
	}
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		dst = append(dst, '{')
		first := true
		var err error
	next:
		for i := range fields {
			f := &fields[i]
			fv := v
			for _, x := range f.index {
				if fv.Kind() == reflect.Pointer {
					if fv.IsNil() {
						continue next
					}
					fv = fv.Elem()
				}
				fv = fv.Field(x)
			}
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, f.nameJSON...)
			if dst, err = f.enc(dst, fv); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
}

// structFields lists the fields encoding/json encodes for t, following its
// rules for names, tags and embedded structs. ok is false when t needs a
// rule this encoder does not reproduce.
func structFields(t reflect.Type) (fields []field, ok bool) {
	type candidate struct {
		field
		depth  int
		tagged bool
	}
	var cands []candidate
	var walk func(t reflect.Type, index []int, depth int) bool
	walk = func(t reflect.Type, index []int, depth int) bool {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if strings.Contains(","+opts+",", ",string,") || strings.Contains(","+opts+",", ",omitzero,") {
				return false
			}
			idx := append(slices.Clone(index), i)
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
				if name == "" && ft.Kind() == reflect.Struct {
					if !walk(ft, idx, depth+1) {
						return false
					}
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tagged := name != ""
			if name == "" {
				name = sf.Name
			}
			if !validTagName(name) {
				name, tagged = sf.Name, false
			}
			cands = append(cands, candidate{field{name: name, index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}, depth, tagged})
		}
		return true
	}
	if !walk(t, nil, 0) {
		return nil, false
	}
	byName := map[string][]candidate{}
	var order []string
	for _, c := range cands {
		if _, seen := byName[c.name]; !seen {
			order = append(order, c.name)
		}
		byName[c.name] = append(byName[c.name], c)
	}
	for _, n := range order {
		cs := byName[n]
		if len(cs) == 1 {
			fields = append(fields, cs[0].field)
			continue
		}
		// Several fields of one name: encoding/json keeps the shallowest,
		// preferring a tagged one, and drops an ambiguous tie. Leave that
		// to encoding/json itself.
		return nil, false
	}
	return fields, true
}

func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func appendValidString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = validUTF8(s)
	}
	return AppendString(dst, s)
}

package manifest

import (
	"reflect"
	"testing"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// fill sets every field reachable from v to a non-zero value: slices of
// two elements, pointers to filled values.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 29, 1, 2, 3, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i))
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	default:
		t.Fatalf("fill: a %s field; teach fill and Clone about it", v.Type())
	}
}

// shared reports the first slice or pointer a and b have in common.
func shared(a, b reflect.Value, path string) string {
	if a.Type() == timeType {
		return "" // its *Location is immutable
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Index(0).Addr().Pointer() == b.Index(0).Addr().Pointer() {
			return path
		}
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i), path+"[i]"); p != "" {
				return p
			}
		}
	case reflect.Pointer:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
		if !a.IsNil() {
			return shared(a.Elem(), b.Elem(), path)
		}
	case reflect.Map, reflect.Interface, reflect.Chan, reflect.Func:
		return path + " (a " + a.Kind().String() + ": teach Clone about it)"
	}
	return ""
}

func TestCloneSharesNothing(t *testing.T) {
	var m Manifest
	fill(t, reflect.ValueOf(&m).Elem())
	c := m.Clone()
	if !reflect.DeepEqual(*c, m) {
		t.Fatal("the clone differs from the original")
	}
	if p := shared(reflect.ValueOf(m), reflect.ValueOf(*c), "Manifest"); p != "" {
		t.Fatalf("the clone shares %s with the original", p)
	}
	c.Steps[0].Signatures[0].Sig = "changed"
	c.Steps = append(c.Steps, Record{})
	if m.Steps[0].Signatures[0].Sig != "x" || len(m.Steps) != 2 {
		t.Fatal("changing the clone changed the original")
	}
}

func TestCloneKeepsNil(t *testing.T) {
	m := Manifest{ID: "m"}
	c := m.Clone()
	if !reflect.DeepEqual(*c, m) {
		t.Fatalf("clone of a sparse manifest: %+v", *c)
	}
}

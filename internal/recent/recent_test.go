package recent

import "testing"

func TestMap(t *testing.T) {
	m := Map[string, int]{Limit: 3}
	for i, k := range []string{"a", "b", "c"} {
		m.Put(k, i)
	}
	if v, ok := m.Get("b"); !ok || v != 1 {
		t.Errorf(`Get("b") = %d, %v; want 1, true`, v, ok)
	}
	if v, ok := GetBytes(&m, []byte("c")); !ok || v != 2 {
		t.Errorf(`GetBytes("c") = %d, %v; want 2, true`, v, ok)
	}
	if _, ok := m.Get("z"); ok {
		t.Error(`Get("z") found a value never put`)
	}
	m.Put("d", 3) // full: starts afresh
	if _, ok := m.Get("a"); ok || m.Len() != 1 {
		t.Errorf("after a Put into a full map: %d entries, a still there: %v; want only d", m.Len(), ok)
	}
	var zero Map[int, int]
	for i := range DefaultLimit + 1 {
		zero.Put(i, i)
	}
	if zero.Len() != 1 {
		t.Errorf("the zero Map holds %d entries after DefaultLimit+1 puts, want 1", zero.Len())
	}
}

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

	// Full: d starts a new generation; a, b, c are still found.
	m.Put("d", 3)
	for k, want := range map[string]int{"a": 0, "c": 2, "d": 3} {
		if v, ok := m.Get(k); !ok || v != want {
			t.Errorf("after the turn, Get(%q) = %d, %v; want %d, true", k, v, ok, want)
		}
	}
	// a and c were read, so they moved into the current generation (now
	// full: d, a, c); the next turn drops b, never read since.
	m.Put("e", 4)
	if _, ok := m.Get("b"); ok {
		t.Error("b survived two turns without being read")
	}
	for _, k := range []string{"a", "c", "d", "e"} {
		if _, ok := GetBytes(&m, []byte(k)); !ok {
			t.Errorf("%s lost, though read or put within the last generation", k)
		}
	}
	if n := m.Len(); n > 2*m.Limit {
		t.Errorf("Len = %d, more than two generations of %d", n, m.Limit)
	}
}

func TestZeroMapIsBounded(t *testing.T) {
	var m Map[int, int]
	for i := range 5 * DefaultLimit {
		m.Put(i, i)
	}
	if n := m.Len(); n > 2*DefaultLimit || n < DefaultLimit {
		t.Errorf("the zero Map holds %d entries after %d puts, want between %d and %d", n, 5*DefaultLimit, DefaultLimit, 2*DefaultLimit)
	}
	// Every one of the last DefaultLimit puts is still there.
	for i := 4 * DefaultLimit; i < 5*DefaultLimit; i++ {
		if _, ok := m.Get(i); !ok {
			t.Fatalf("entry %d of the last %d puts lost", i, DefaultLimit)
		}
	}
}

// A lookup by bytes allocates nothing, found or not, unless the entry
// moves generation.
func TestGetBytesAllocates(t *testing.T) {
	var m Map[string, int]
	m.Put("present", 1)
	present, absent := []byte("present"), []byte("absent")
	if n := testing.AllocsPerRun(100, func() {
		GetBytes(&m, present)
		GetBytes(&m, absent)
	}); n != 0 {
		t.Errorf("GetBytes allocates %.0f times per lookup pair, want 0", n)
	}
}

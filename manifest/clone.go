package manifest

import "slices"

// Clone returns a deep copy of m: changing the copy, its slices or what
// its pointers point to leaves m as it was. Strings are shared (Go strings
// never change). TestCloneSharesNothing fails when a field added to these
// types would be shared.
func (m *Manifest) Clone() *Manifest {
	c := *m
	c.Legs = cloneEach(m.Legs, func(l *Leg) { l.Plates = slices.Clone(l.Plates) })
	c.Lines = cloneEach(m.Lines, func(l *Line) {
		l.Units = slices.Clone(l.Units)
		l.Generated = clonePtr(l.Generated)
	})
	c.Ref = clonePtr(m.Ref)
	c.Paper = clonePtr(m.Paper)
	c.Steps = cloneEach(m.Steps, func(r *Record) {
		r.Place = clonePtr(r.Place)
		r.Signatures = slices.Clone(r.Signatures)
	})
	c.Receipt = slices.Clone(m.Receipt)
	c.Processed = cloneEach(m.Processed, func(p *Processing) { p.Outputs = slices.Clone(p.Outputs) })
	c.Flags = slices.Clone(m.Flags)
	c.Followups = cloneEach(m.Followups, func(f *Followup) { f.Lines = slices.Clone(f.Lines) })
	return &c
}

// cloneEach copies s (nil stays nil) and lets deep fix each element's own
// slices and pointers.
func cloneEach[T any](s []T, deep func(*T)) []T {
	c := slices.Clone(s)
	for i := range c {
		deep(&c[i])
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

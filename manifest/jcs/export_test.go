package jcs

// The two paths of Marshal, for tests that compare them.
var (
	FastMarshal = fastMarshal
	SlowMarshal = slowMarshal
)

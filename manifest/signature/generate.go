package signature

//go:generate go run ./internal/genvectors -o testdata/vectors.json

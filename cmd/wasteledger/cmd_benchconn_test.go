package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBenchConn(t *testing.T) {
	big := strings.Repeat("x", 20<<10) // larger than net/http's buffer: a chunked answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			http.Error(w, "no token", http.StatusUnauthorized)
		case r.URL.Path == "/big":
			io.WriteString(w, big)
		case r.URL.Path == "/echo" && r.Method == "POST" && r.Header.Get("Idempotency-Key") == "k1":
			w.Write(body)
		case r.URL.Path == "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	k := newBenchConn(srv.URL)
	if k == nil {
		t.Fatalf("newBenchConn(%q) = nil", srv.URL)
	}
	defer k.close()
	for i, c := range []struct {
		method, path, token, body, key string
		status                         int
		errText                        string
	}{
		{"GET", "/big", "tok", "", "", 200, ""},
		{"POST", "/echo", "tok", `{"a":1}`, "k1", 200, ""},
		{"GET", "/big", "", "", "", 401, "no token"},
		{"GET", "/close", "tok", "", "", 200, ""}, // the server closes: the next request dials again
		{"GET", "/missing", "tok", "", "", 404, "404"},
		{"GET", "/big", "tok", "", "", 200, ""},
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		status, err := k.do(c.method, c.path, c.token, body, c.key)
		if status != c.status || (c.errText == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.errText)) {
			t.Errorf("request %d %s %s: status %d, err %v; want %d, error containing %q", i, c.method, c.path, status, err, c.status, c.errText)
		}
	}
	if newBenchConn("https://127.0.0.1:1") != nil {
		t.Error("an https target must use the net/http client")
	}
}

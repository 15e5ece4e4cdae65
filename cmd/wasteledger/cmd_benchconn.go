package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// benchConn is one load client's keep-alive HTTP/1.1 connection to serve.
// The request is written and the response read in the client's own
// goroutine, without net/http's transport goroutines and hand-offs in
// between: the load generator shares the machine with serve, and every
// microsecond it spends is one serve does not get (as wrk would).
type benchConn struct {
	addr string // host:port, also the Host header
	c    net.Conn
	br   *bufio.Reader
	buf  []byte
}

// newBenchConn returns a client for base, or nil when base is not a plain
// http:// URL (the net/http client is used then).
func newBenchConn(base string) *benchConn {
	addr, ok := strings.CutPrefix(base, "http://")
	if !ok || strings.Contains(addr, "/") {
		return nil
	}
	return &benchConn{addr: addr}
}

// do sends one request and reads the whole response. A broken connection
// is dropped and dialled again on the next request; the request is not
// retried (a handover could be submitted twice).
func (k *benchConn) do(method, path, token string, body []byte, idemKey string) (int, error) {
	if k.c == nil {
		c, err := net.DialTimeout("tcp", k.addr, 10*time.Second)
		if err != nil {
			return 0, err
		}
		k.c, k.br = c, bufio.NewReaderSize(c, 32<<10)
	}
	b := append(k.buf[:0], method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, k.addr...)
	b = append(b, "\r\nUser-Agent: wasteledger-bench\r\n"...)
	if token != "" {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, token...)
		b = append(b, "\r\n"...)
	}
	if idemKey != "" {
		b = append(b, "Idempotency-Key: "...)
		b = append(b, idemKey...)
		b = append(b, "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	k.buf = b
	_ = k.c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := k.c.Write(b); err != nil {
		k.close()
		return 0, err
	}
	res, err := http.ReadResponse(k.br, nil)
	if err != nil {
		k.close()
		return 0, err
	}
	rb, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.Close {
		k.close()
	}
	if err != nil {
		return res.StatusCode, err
	}
	return res.StatusCode, statusError(method, path, res.StatusCode, rb)
}

// statusError is the error of an answer that is not a success, or nil.
func statusError(method, path string, status int, body []byte) error {
	if status < 300 {
		return nil
	}
	return fmt.Errorf("%s %s: %d %s", method, path, status, bytes.TrimSpace(body))
}

func (k *benchConn) close() {
	if k.c != nil {
		k.c.Close()
		k.c, k.br = nil, nil
	}
}

package gateway

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"wasteledger/gateway/httpx"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document of the API.
func OpenAPI() []byte { return openAPI }

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.RawJSON(w, http.StatusOK, openAPI)
}

// handleHealth answers while the process serves HTTP.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// indexLagger is what an index can say about how far behind it is.
type indexLagger interface {
	Lag(ctx context.Context) (uint64, error)
}

// checkpointer is an index that tells the last event it applied; with a
// ledger that counts events after a cursor, that gives its lag.
type checkpointer interface {
	Checkpoint() ledger.Cursor
}

type cursorLagger interface {
	Lag(ctx context.Context, c ledger.Cursor) (uint64, error)
}

// indexLag is how many events the index trails the ledger by, if known.
func (s *Server) indexLag(ctx context.Context) (uint64, bool) {
	if l, ok := s.index.(indexLagger); ok {
		n, err := l.Lag(ctx)
		return n, err == nil
	}
	cp, ok1 := s.index.(checkpointer)
	cl, ok2 := s.ledger.(cursorLagger)
	if !ok1 || !ok2 {
		return 0, false
	}
	n, err := cl.Lag(ctx, cp.Checkpoint())
	return n, err == nil
}

// handleReady answers 200 when the ledger answers a query and the index is
// within ReadyMaxLag events of it, 503 otherwise.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if _, err := s.ledger.Evaluate(ctx, gatewayCaller, "GetConfig"); err != nil {
		s.fail(w, r, manifest.Errorf(manifest.Unavailable, "not ready: the ledger does not answer: %v", err))
		return
	}
	out := map[string]any{"status": "ready", "ledger": "ok"}
	if lag, ok := s.indexLag(ctx); ok {
		s.metrics.indexLag.Store(int64(lag))
		if lag > s.cfg.ReadyMaxLag {
			s.fail(w, r, manifest.Errorf(manifest.Unavailable, "not ready: the index is %d events behind the ledger (at most %d)", lag, s.cfg.ReadyMaxLag))
			return
		}
		out["index_lag_events"] = lag
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (s *Server) updateIndexLag(r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if lag, ok := s.indexLag(ctx); ok {
		s.metrics.indexLag.Store(int64(lag))
	}
}

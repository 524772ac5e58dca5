package svc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether a dependency is usable; nil means ready.
type Check func(ctx context.Context) error

// Ops serves the operations endpoints:
//
//	/healthz  200 while the process runs (liveness)
//	/readyz   200 when every check passes, else 503 with the failures (readiness)
//	/metrics  Prometheus metrics of the registry
type Ops struct {
	Registry *prometheus.Registry
	mu       sync.Mutex
	checks   map[string]Check
	mux      *http.ServeMux
}

// NewOps returns Ops with a fresh registry that already holds the Go runtime
// and process collectors.
func NewOps() *Ops {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	o := &Ops{Registry: reg, checks: make(map[string]Check), mux: http.NewServeMux()}
	o.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	o.mux.HandleFunc("GET /readyz", o.ready)
	o.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return o
}

// AddCheck registers a readiness check under a name.
func (o *Ops) AddCheck(name string, c Check) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checks[name] = c
}

// EnableProfiling serves Go's profiles under /debug/pprof/. They reveal
// internals and cost CPU while taken, so services expose them only on request.
func (o *Ops) EnableProfiling() {
	o.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	o.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	o.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// Mux returns the mux, so a service can serve its own routes beside these.
func (o *Ops) Mux() *http.ServeMux { return o.mux }

func (o *Ops) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()

	o.mu.Lock()
	checks := make(map[string]Check, len(o.checks))
	for n, c := range o.checks {
		checks[n] = c
	}
	o.mu.Unlock()

	failed := map[string]string{}
	for name, c := range checks {
		if err := c(ctx); err != nil {
			failed[name] = err.Error()
		}
	}
	if len(failed) > 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": false, "failed": failed})
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Serve listens on addr and serves handler until ctx ends, then shuts down,
// giving open requests up to five seconds. The returned channel yields the
// listen error, or nil after a clean shutdown. A bind failure is reported
// synchronously.
func Serve(ctx context.Context, addr string, handler http.Handler) (net.Addr, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr(), done, nil
}

package edge

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveflow/liveflow/pkg/auth"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// Limits bound what one client may cost. The zero value means the defaults.
type Limits struct {
	MaxSubscriptions int           // per connection; 0 means 64
	MaxConnsPerUser  int           // per authenticated user; 0 means 100
	QueueLen         int           // events waiting per connection; 0 means 4096
	QueueBytes       int           // bytes of events waiting per connection; 0 means 4 MiB
	LagGrace         time.Duration // how long a client may stay behind; 0 means 5 s
	MaxMessage       int64         // bytes of one client frame; 0 means 64 KiB
	RequestRate      float64       // client frames per second, sustained; 0 means 20
	RequestBurst     int           // client frames in a burst; 0 means 40
	BatchBytes       int           // target size of one events frame; 0 means 64 KiB
	BatchDelay       time.Duration // how long a writer waits for more events; 0 sends at once
	PingEvery        time.Duration // 0 means 20 s
	WriteTimeout     time.Duration // 0 means 10 s
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxSubscriptions, 64)
	def(&l.MaxConnsPerUser, 100)
	def(&l.QueueLen, 4096)
	def(&l.QueueBytes, 4<<20)
	def(&l.RequestBurst, 40)
	def(&l.BatchBytes, 64<<10)
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	dur(&l.LagGrace, 5*time.Second)
	dur(&l.PingEvery, 20*time.Second)
	dur(&l.WriteTimeout, 10*time.Second)
	if l.MaxMessage == 0 {
		l.MaxMessage = 64 << 10
	}
	if l.RequestRate == 0 {
		l.RequestRate = 20
	}
	return l
}

// Config is what a Server needs besides its hub and metrics.
type Config struct {
	Limits Limits
	// Origins are host patterns (as in websocket.AcceptOptions.OriginPatterns)
	// allowed besides the page's own host.
	Origins []string
	// Auth checks credentials; nil lets every client in anonymously.
	Auth *auth.Authenticator
}

// Server is the HTTP side of an edge node: /ws and the live page at /.
type Server struct {
	hub      *hub.Hub
	limits   Limits
	origins  []string
	auth     *auth.Authenticator
	metrics  *Metrics
	ctx      context.Context
	shutdown context.CancelFunc

	mu       sync.Mutex
	closing  bool // set by Shutdown; no session starts after it
	sessions map[*session]struct{}
	users    map[string]int    // open connections per authenticated user
	degraded map[string]string // source -> why it is degraded
	status   []byte            // the status frame of degraded, nil while all is well
	wg       sync.WaitGroup
}

// SetStatus records whether one source of the feed works, e.g. "redis" for
// the node's own reading of the event streams, and tells every client when
// the feed as a whole turns degraded, changes its reason, or recovers.
// Clients that connect while it is degraded are told at once.
func (s *Server) SetStatus(source string, ok bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.status
	if ok {
		delete(s.degraded, source)
	} else {
		s.degraded[source] = reason
	}
	s.status = nil
	if len(s.degraded) > 0 {
		reasons := make([]string, 0, len(s.degraded))
		for _, src := range slices.Sorted(maps.Keys(s.degraded)) {
			reasons = append(reasons, s.degraded[src])
		}
		s.status = reply{Op: "status", Feed: "degraded", Message: strings.Join(reasons, "; ")}.encode()
	}
	frame := s.status
	switch {
	case bytes.Equal(was, s.status):
		return
	case frame == nil:
		frame = reply{Op: "status", Feed: "ok"}.encode()
	}
	s.metrics.Degraded.Set(float64(len(s.degraded)))
	for sess := range s.sessions {
		sess.tell(frame)
	}
}

// NewServer returns a Server.
func NewServer(h *hub.Hub, cfg Config, m *Metrics) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	a := cfg.Auth
	if a == nil {
		a, _ = auth.New(auth.Config{}) // an empty configuration is always valid
	}
	return &Server{
		hub: h, limits: cfg.Limits.withDefaults(), origins: cfg.Origins, auth: a, metrics: m,
		ctx: ctx, shutdown: cancel, sessions: make(map[*session]struct{}), users: make(map[string]int),
		degraded: make(map[string]string),
	}
}

//go:embed web
var web embed.FS

// Register adds the routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.Handle("GET /", http.FileServerFS(mustSub(web, "web")))
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.origins})
	if err != nil {
		s.metrics.Rejected.Inc()
		return // Accept has written the HTTP error
	}
	conn.SetReadLimit(s.limits.MaxMessage)

	// Credentials are checked after the upgrade: a browser sees only that a
	// refused upgrade failed, but it reads a close code and reason.
	id, err := s.auth.Authenticate(r)
	if err != nil {
		s.violation(conn, CloseUnauthorized, err.Error())
		return
	}
	sess := newSession(s, conn, id)
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		conn.Close(CloseShutdown, "node restarting; reconnect and resume")
		return
	case id.User != "" && s.users[id.User] >= s.limits.MaxConnsPerUser:
		s.mu.Unlock()
		s.violation(conn, CloseTooManyConnections,
			fmt.Sprintf("at most %d connections per user", s.limits.MaxConnsPerUser))
		return
	}
	s.sessions[sess] = struct{}{}
	if s.status != nil {
		sess.tell(s.status)
	}
	if id.User != "" {
		s.users[id.User]++
	}
	s.wg.Add(1)
	s.mu.Unlock()
	s.metrics.Connections.Inc()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess)
		if id.User != "" {
			if s.users[id.User]--; s.users[id.User] == 0 {
				delete(s.users, id.User)
			}
		}
		s.mu.Unlock()
		s.metrics.Connections.Dec()
		s.wg.Done()
	}()

	sess.run(s.ctx)
	conn.CloseNow()
}

// violation closes a connection for breaking a rule and counts it by code.
// The reason is cut to what a close frame holds.
func (s *Server) violation(conn *websocket.Conn, code websocket.StatusCode, reason string) {
	s.metrics.Closes.WithLabelValues(strconv.Itoa(int(code))).Inc()
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
	}
	conn.Close(code, reason)
}

// maxCloseReason is the most bytes of reason a close frame carries.
const maxCloseReason = 123

// Shutdown stops accepting clients and closes the open ones with
// CloseShutdown, a reconnect hint, spread evenly over spread so that they do
// not all reconnect elsewhere at once. It waits for their sessions to end,
// or for ctx; then it drops whatever connections are left.
//
// The sessions' context ends only after the close handshakes: a WebSocket
// read whose context ends drops the connection at once, and clients would
// see an abnormal closure instead of CloseShutdown.
func (s *Server) Shutdown(ctx context.Context, spread time.Duration) {
	defer s.shutdown()
	s.mu.Lock()
	s.closing = true
	var closing sync.WaitGroup
	n, i := len(s.sessions), 0
	for sess := range s.sessions {
		delay := spread * time.Duration(i) / time.Duration(max(1, n))
		i++
		closing.Add(1)
		go func() {
			defer closing.Done()
			select {
			case <-time.After(delay):
			case <-ctx.Done():
			}
			sess.conn.Close(CloseShutdown, "node restarting; reconnect and resume")
		}()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		closing.Wait()
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Metrics are the edge's connection and protocol series.
type Metrics struct {
	Connections    prometheus.Gauge
	Rejected       prometheus.Counter
	Requests       prometheus.Counter
	ProtocolErrors *prometheus.CounterVec
	Events         prometheus.Counter
	Frames         prometheus.Counter
	SlowClosed     prometheus.Counter
	DeadClosed     prometheus.Counter
	Subscriptions  prometheus.Gauge
	Bytes          prometheus.Counter
	QueueDepth     prometheus.Histogram // events waiting for a client when its writer wakes
	Dropped        prometheus.Counter   // events shed from the queues of clients behind
	Lagged         prometheus.Counter   // lagged notices sent
	Closes         *prometheus.CounterVec
	Degraded       prometheus.Gauge // sources of the feed that are degraded
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_edge_connections", Help: "Open WebSocket connections.",
		}),
		Rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_rejected_upgrades_total", Help: "WebSocket upgrades refused (bad origin or request).",
		}),
		Requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_requests_total", Help: "Client requests read.",
		}),
		ProtocolErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_edge_protocol_errors_total", Help: "Error replies sent, by code.",
		}, []string{"code"}),
		Events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_events_sent_total", Help: "Events written to clients.",
		}),
		Frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_event_frames_total", Help: "Events frames written to clients.",
		}),
		SlowClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_slow_consumer_closes_total", Help: "Connections closed for not reading fast enough.",
		}),
		DeadClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_dead_peer_closes_total", Help: "Connections closed for not answering pings.",
		}),
	}
	m.Subscriptions = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "liveflow_edge_subscriptions", Help: "Subscriptions held by open connections.",
	})
	m.Bytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_edge_event_bytes_total", Help: "Bytes of events frames written to clients.",
	})
	m.QueueDepth = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "liveflow_edge_queue_depth", Help: "Events waiting for a client when its writer wakes.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14),
	})
	m.Dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_edge_dropped_events_total", Help: "Events dropped from the queues of clients that fell behind.",
	})
	m.Lagged = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_edge_lagged_notices_total", Help: "Lagged notices sent to clients that fell behind.",
	})
	m.Closes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liveflow_edge_violation_closes_total", Help: "Connections closed for breaking a rule, by close code.",
	}, []string{"code"})
	m.Degraded = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "liveflow_edge_degraded_sources", Help: "Sources of the feed (Redis, the upstream feed) currently degraded.",
	})
	reg.MustRegister(m.Subscriptions, m.Bytes, m.QueueDepth, m.Dropped, m.Lagged, m.Closes, m.Degraded)
	reg.MustRegister(m.Connections, m.Rejected, m.Requests, m.ProtocolErrors, m.Events, m.Frames,
		m.SlowClosed, m.DeadClosed)
	return m
}

func mustSub(fsys embed.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Package vendortest runs a local WebSocket server that speaks the vendor's
// options protocol (see internal/polygon) from recorded frames, so that
// tests can put the adapter through auth failures, drops, stalls, garbage
// and slow answers. Only tests import it.
package vendortest

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

//go:embed testdata
var fixtures embed.FS

// Frame is one WebSocket message the server sends.
type Frame struct {
	Data   []byte
	Binary bool
}

// End says what the server does after a session's last frame.
type End int

// The ends of a session.
const (
	Hold  End = iota // stay open and silent until the client leaves
	Drop             // cut the connection without a close handshake
	Close            // close normally
)

// Session scripts one connection.
type Session struct {
	Refuse     bool          // answer the upgrade with HTTP 503, as a server that is down
	RejectAuth bool          // answer auth with auth_failed and close
	AuthDelay  time.Duration // wait this long before answering auth
	Frames     []Frame       // sent in order once the client subscribed
	Gap        time.Duration // wait this long before each frame
	End        End
}

// Server is a running vendor server.
type Server struct {
	URL string // ws://127.0.0.1:PORT/options

	key    string
	script func(conn int) Session
	srv    *httptest.Server
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    int
	finished int
	subs     []string
}

// NewServer starts a server that accepts key and scripts its n-th
// connection attempt (from 1) with script(n), which may be called from
// several goroutines. It stops when the test ends.
func NewServer(tb testing.TB, key string, script func(conn int) Session) *Server {
	tb.Helper()
	s := &Server{key: key, script: script, stop: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/options"
	tb.Cleanup(func() {
		close(s.stop)
		s.srv.Close()
		s.wg.Wait()
	})
	return s
}

// Connections returns how many connection attempts the server saw.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Finished returns how many sessions sent all their frames.
func (s *Server) Finished() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished
}

// Subscriptions returns the params of every subscribe message received.
func (s *Server) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.subs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// Counted before the upgrade: the server's Close waits for requests
	// until they are hijacked, so none can start after Wait.
	s.wg.Add(1)
	defer s.wg.Done()
	s.mu.Lock()
	s.conns++
	n := s.conns
	s.mu.Unlock()
	sess := s.script(n)
	if sess.Refuse {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}

	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	s.session(ctx, c, sess)
}

type request struct {
	Action string `json:"action"`
	Params string `json:"params"`
}

func (s *Server) session(ctx context.Context, c *websocket.Conn, sess Session) {
	if status(ctx, c, "connected", "Connected Successfully") != nil {
		return
	}
	auth, err := readRequest(ctx, c)
	if err != nil || !sleep(ctx, sess.AuthDelay) {
		return
	}
	if sess.RejectAuth || auth.Action != "auth" || auth.Params != s.key {
		_ = status(ctx, c, "auth_failed", "authentication failed")
		_ = c.Close(websocket.StatusPolicyViolation, "authentication failed")
		return
	}
	if status(ctx, c, "auth_success", "authenticated") != nil {
		return
	}
	sub, err := readRequest(ctx, c)
	if err != nil || sub.Action != "subscribe" {
		return
	}
	s.subscribed(sub.Params)
	if status(ctx, c, "success", "subscribed to: "+sub.Params) != nil {
		return
	}
	gone := s.readRest(ctx, c)

	for _, f := range sess.Frames {
		if !sleep(ctx, sess.Gap) {
			return
		}
		typ := websocket.MessageText
		if f.Binary {
			typ = websocket.MessageBinary
		}
		if c.Write(ctx, typ, f.Data) != nil {
			return
		}
	}
	s.mu.Lock()
	s.finished++
	s.mu.Unlock()
	switch sess.End {
	case Hold:
		select {
		case <-gone:
		case <-ctx.Done():
		}
	case Drop:
		c.CloseNow()
	case Close:
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
}

// readRest records later subscribe messages and closes the returned
// channel when the client leaves.
func (s *Server) readRest(ctx context.Context, c *websocket.Conn) <-chan struct{} {
	gone := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(gone)
		for {
			req, err := readRequest(ctx, c)
			if err != nil {
				return
			}
			if req.Action == "subscribe" {
				s.subscribed(req.Params)
			}
		}
	}()
	return gone
}

func (s *Server) subscribed(params string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, params)
}

func readRequest(ctx context.Context, c *websocket.Conn) (request, error) {
	var req request
	_, b, err := c.Read(ctx)
	if err != nil {
		return req, err
	}
	err = json.Unmarshal(b, &req)
	return req, err
}

func status(ctx context.Context, c *websocket.Conn, status, message string) error {
	b, err := json.Marshal([]map[string]string{{"ev": "status", "status": status, "message": message}})
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Frames reads a recorded fixture from testdata: one frame per line, exactly
// as the vendor sends it. Blank lines are skipped.
func Frames(tb testing.TB, name string) []Frame {
	tb.Helper()
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatalf("vendortest: %v", err)
	}
	var frames []Frame
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			frames = append(frames, Frame{Data: bytes.Clone(line)})
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("vendortest: %s: %v", name, err)
	}
	return frames
}

// Ticks reads a tape from testdata: the ticks a fixture must turn into.
func Ticks(tb testing.TB, name string) []tick.Tick {
	tb.Helper()
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatalf("vendortest: %v", err)
	}
	r := tape.NewReader(bytes.NewReader(b))
	var ticks []tick.Tick
	for {
		t, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ticks
			}
			tb.Fatalf("vendortest: %s: %v", name, err)
		}
		ticks = append(ticks, t)
	}
}

package edge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/liveflow/liveflow/pkg/auth"
	"github.com/liveflow/liveflow/pkg/wsclient"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
)

var secret = []byte("test-secret-test-secret-test-sec")

// token signs an HS256 token for user with extra claims.
func token(t testing.TB, user string, ttl time.Duration, extra jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"sub": user, "exp": time.Now().Add(ttl).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newAuthEdge is an edge that accepts HS256 tokens and one API key,
// "key-firehose", that grants the whole feed.
func newAuthEdge(t testing.TB, limits edge.Limits) *env {
	t.Helper()
	sum := sha256.Sum256([]byte("key-firehose"))
	a, err := auth.New(auth.Config{HS256Secret: secret, APIKeys: []auth.APIKey{
		{SHA256: hex.EncodeToString(sum[:]), User: "quant-desk", Firehose: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return newEdgeWith(t, edge.Config{Limits: limits, Auth: a})
}

func (e *env) dialToken(t testing.TB, tok string) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := wsclient.DialToken(ctx, e.url, tok)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().CloseNow() })
	return c
}

// closeReason reads until the connection ends and returns its close status
// and reason.
func closeReason(t testing.TB, c *wsclient.Client) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if _, _, err := c.Conn().Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("connection still open after %s", timeout)
			}
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				return -1, err.Error()
			}
			return ce.Code, ce.Reason
		}
	}
}

func TestCredentialsAreCheckedAtConnect(t *testing.T) {
	t.Parallel()
	e := newAuthEdge(t, edge.Limits{})
	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"none", "", "required"},
		{"expired", token(t, "trader", -time.Minute, nil), "token expired"},
		{"bad signature", token(t, "trader", time.Hour, nil) + "x", "signature"},
		{"unknown API key", "key-unknown", "unknown API key"},
		{"not a token", "a.b.c", "token refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason := closeReason(t, e.dialToken(t, tt.token))
			if code != edge.CloseUnauthorized || !strings.Contains(reason, tt.reason) {
				t.Errorf("closed with %v %q, want %v and a reason containing %q",
					code, reason, edge.CloseUnauthorized, tt.reason)
			}
		})
	}
	if got := testutil.ToFloat64(e.m.Closes.WithLabelValues("4003")); got != float64(len(tests)) {
		t.Errorf("closes{code=4003} = %v, want %d", got, len(tests))
	}

	c := e.dialToken(t, token(t, "trader", time.Hour, nil))
	subscribe(t, c, "s", "AAPL")
	e.xadd(t, "AAPL", `{"n":"ok"}`)
	if got := events(t, c, 1); !strings.Contains(got[0], `"n":"ok"`) {
		t.Errorf("an authenticated client got %q", got)
	}
}

func TestEntitlements(t *testing.T) {
	t.Parallel()
	e := newAuthEdge(t, edge.Limits{})
	narrow := e.dialToken(t, token(t, "trader", time.Hour, jwt.MapClaims{"symbols": []string{"aapl"}}))
	subscribe(t, narrow, "mine", "AAPL")
	for frame, code := range map[string]string{
		`{"op":"subscribe","id":"x","filter":{"symbols":["AAPL","TSLA"]}}`: edge.CodeForbidden,
		`{"op":"subscribe","id":"y","filter":{"symbols":["*"]}}`:           edge.CodeForbidden,
	} {
		send(t, narrow, frame)
		if m := read(t, narrow); m.Op != "error" || m.Code != code {
			t.Errorf("%s: got %s, want error %s", frame, show(m), code)
		}
	}

	// The firehose key sees every underlying, once per event even though
	// it also holds a subscription naming one of them.
	all := e.dialToken(t, "key-firehose")
	subscribe(t, all, "all", "*")
	subscribe(t, all, "aapl", "AAPL")
	want := map[string]string{"AAPL": `"n":"a"`, "TSLA": `"n":"t"`, "ZZZ9": `"n":"z"`}
	for u, ev := range want {
		e.xadd(t, u, "{"+ev+"}")
	}
	got := strings.Join(events(t, all, 3), " ")
	for _, ev := range want {
		if strings.Count(got, ev) != 1 {
			t.Errorf("the firehose got %s, want %s once", got, ev)
		}
	}
	if got := events(t, narrow, 1); !strings.Contains(got[0], want["AAPL"]) {
		t.Errorf("the narrow client got %q", got)
	}
}

func TestConnectionsPerUser(t *testing.T) {
	t.Parallel()
	e := newAuthEdge(t, edge.Limits{MaxConnsPerUser: 2})
	tok := token(t, "trader", time.Hour, nil)
	first, second := e.dialToken(t, tok), e.dialToken(t, tok)
	subscribe(t, first, "a", "AAPL")
	subscribe(t, second, "a", "AAPL")

	code, reason := closeReason(t, e.dialToken(t, tok))
	if code != edge.CloseTooManyConnections || !strings.Contains(reason, "at most 2") {
		t.Errorf("third connection closed with %v %q, want %v", code, reason, edge.CloseTooManyConnections)
	}
	subscribe(t, e.dialToken(t, token(t, "someone-else", time.Hour, nil)), "b", "AAPL")

	// A connection that ends frees its place.
	first.Conn().Close(websocket.StatusNormalClosure, "")
	eventually(t, "the user's count drops", func() bool {
		return testutil.ToFloat64(e.m.Connections) == 2
	})
	subscribe(t, e.dialToken(t, tok), "c", "AAPL")
}

func TestTokenExpiryClosesTheConnection(t *testing.T) {
	t.Parallel()
	e := newAuthEdge(t, edge.Limits{})
	// JWT expiry has a resolution of one second, and the node allows a
	// few seconds of clock skew.
	c := e.dialToken(t, token(t, "trader", time.Second, nil))
	subscribe(t, c, "s", "AAPL")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, _, err := c.Conn().Read(ctx)
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != edge.CloseUnauthorized {
			t.Fatalf("closed with %v (%v), want %v", got, err, edge.CloseUnauthorized)
		}
		break
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("closed %s after subscribing, long after the token expired", took)
	}
}

func TestLimitsCloseWithTheirCodes(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{MaxSubscriptions: 2, RequestRate: 1, RequestBurst: 5})

	c := e.dial(t)
	subscribe(t, c, "a", "AAPL")
	subscribe(t, c, "b", "MSFT")
	send(t, c, `{"op":"subscribe","id":"c","filter":{"symbols":["TSLA"]}}`)
	if code, reason := closeReason(t, c); code != edge.CloseTooManySubscriptions || !strings.Contains(reason, "at most 2") {
		t.Errorf("third subscription: closed with %v %q, want %v", code, reason, edge.CloseTooManySubscriptions)
	}

	c = e.dial(t)
	for i := range 5 {
		send(t, c, `{"op":"ping"}`)
		if m := read(t, c); m.Op != "pong" {
			t.Fatalf("ping %d within the burst: %s", i, show(m))
		}
	}
	send(t, c, `{"op":"ping"}`)
	if code, reason := closeReason(t, c); code != edge.CloseRateLimited || !strings.Contains(reason, "requests per second") {
		t.Errorf("request over the rate: closed with %v %q, want %v", code, reason, edge.CloseRateLimited)
	}
	for code, n := range map[int]float64{4005: 1, 4006: 1} {
		if got := testutil.ToFloat64(e.m.Closes.WithLabelValues(fmt.Sprint(code))); got != n {
			t.Errorf("closes{code=%d} = %v, want %v", code, got, n)
		}
	}
}

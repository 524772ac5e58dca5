package deliver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "0123456789abcdef0123456789abcdef"

// hits is a receiver that answers from a script and records each request.
type hits struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	times  []time.Time
	answer func(n int, w http.ResponseWriter) // n counts from 1
}

func serve(t *testing.T, answer func(n int, w http.ResponseWriter)) (*hits, *httptest.Server) {
	h := &hits{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, r)
		h.bodies = append(h.bodies, body)
		h.times = append(h.times, time.Now())
		n := len(h.reqs)
		h.mu.Unlock()
		if h.answer != nil {
			h.answer(n, w)
		}
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hits) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reqs)
}

func testEvent() *flow.Event {
	ev := &flow.Event{Kind: "sweep", TS: time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano(),
		Underlying: "SPY", Symbol: "SPY   261218P00650000", Expiry: "2026-12-18", DTE: 15, Strike: 650, Right: "P",
		Side: "AA", Sentiment: "bearish", Price: 3.45, Size: 1200, Premium: 414_000, OTMPct: 1.2, Exchanges: 3,
		Score: 82, Flags: flow.Golden | flow.ISO}
	ev.Finish()
	return ev
}

func alert(typ, url string) *Alert {
	ev := testEvent()
	b, _ := ev.JSON()
	a := &Alert{RuleID: "r1", RuleName: "SPY <puts> & more", EventID: "3-1796308200031-0", Event: ev,
		JSON: append([]byte(`{"id":"3-1796308200031-0",`), b[1:]...), Dest: Destination{Type: typ, URL: url},
		Written: time.Now()}
	if typ == Webhook {
		a.Dest.Secret = secret
	}
	return a
}

func fastConfig() Config {
	return Config{AllowPrivate: true, BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		Rates: map[string]rate.Limit{Webhook: rate.Inf, Slack: rate.Inf, Discord: rate.Inf}}
}

// deliverOne submits a and waits for its result.
func deliverOne(t *testing.T, d *Dispatcher, a *Alert) Result {
	t.Helper()
	ch := make(chan Result, 1)
	d.Submit(a, func(r Result) { ch <- r })
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no result within 10s")
	}
	return Result{}
}

func newDispatcher(t *testing.T, cfg Config) (*Dispatcher, *Metrics, *testkit.Logs) {
	m, logs := NewMetrics(nil), &testkit.Logs{}
	d := New(cfg, m, logs)
	t.Cleanup(d.Close)
	return d, m, logs
}

// TestRetriesUntilDelivered: failures that may pass are retried with the
// same body and idempotency key, the attempt number counting up; webhook
// signatures verify on every attempt.
func TestRetriesUntilDelivered(t *testing.T) {
	h, srv := serve(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	d, m, _ := newDispatcher(t, fastConfig())
	res := deliverOne(t, d, alert(Webhook, srv.URL))
	if res.Outcome != Delivered || res.Attempts != 3 {
		t.Fatalf("result %+v, want delivered on the third attempt", res)
	}
	for i, r := range h.reqs {
		if r.Header.Get(HeaderIdempotencyKey) != "r1:3-1796308200031-0" || r.Header.Get(HeaderAttempt) != string(rune('1'+i)) {
			t.Errorf("attempt %d headers: %v", i+1, r.Header)
		}
		if err := Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), h.bodies[i],
			time.Now(), time.Minute); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
		if string(h.bodies[i]) != string(h.bodies[0]) {
			t.Errorf("attempt %d sent another body", i+1)
		}
	}
	if got := testutil.ToFloat64(m.Retried.WithLabelValues(Webhook)); got != 2 {
		t.Errorf("retried = %v, want 2", got)
	}
	for reason, want := range map[string]float64{ReasonStatus5: 1, ReasonThrottle: 1} {
		if got := testutil.ToFloat64(m.Failed.WithLabelValues(Webhook, reason)); got != want {
			t.Errorf("failed{%s} = %v, want %v", reason, got, want)
		}
	}
	if testutil.ToFloat64(m.Delivered.WithLabelValues(Webhook)) != 1 || testutil.CollectAndCount(m.Latency) != 1 {
		t.Error("the delivery was not counted with its latency")
	}
}

// TestGivesUp: a refusal is final at once; failures that may pass are
// retried MaxAttempts times; an alert older than MaxAge is not sent.
func TestGivesUp(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		cfg      func(*Config)
		written  time.Duration // before now
		reason   string
		attempts int
	}{
		{name: "not found", status: 404, reason: ReasonStatus4, attempts: 1},
		{name: "bad request", status: 400, reason: ReasonStatus4, attempts: 1},
		{name: "redirect", status: 302, reason: ReasonRedirect, attempts: 1},
		{name: "server errors", status: 502, cfg: func(c *Config) { c.MaxAttempts = 3 }, reason: ReasonExhausted, attempts: 3},
		{name: "too old to send", status: 200, written: time.Hour, reason: ReasonExpired, attempts: 0},
		{name: "too old to retry", status: 500, cfg: func(c *Config) {
			c.MaxAge, c.BackoffBase, c.BackoffMax = time.Second, 5*time.Second, 5*time.Second
		}, reason: ReasonExpired, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, srv := serve(t, func(_ int, w http.ResponseWriter) {
				w.Header().Set("Location", "http://169.254.169.254/")
				w.WriteHeader(tt.status)
			})
			cfg := fastConfig()
			cfg.BreakerFailures = 100
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			d, _, _ := newDispatcher(t, cfg)
			a := alert(Slack, srv.URL)
			a.Written = time.Now().Add(-tt.written)
			res := deliverOne(t, d, a)
			if res.Outcome != Failed || res.Reason != tt.reason || res.Attempts != tt.attempts || res.Err == nil {
				t.Errorf("result %+v, want failed for %s after %d attempts", res, tt.reason, tt.attempts)
			}
			if h.count() != tt.attempts {
				t.Errorf("%d requests, want %d", h.count(), tt.attempts)
			}
		})
	}
}

// TestRetryAfter: a throttled attempt waits as long as the receiver asks.
func TestRetryAfter(t *testing.T) {
	h, srv := serve(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "0.3")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	d, _, _ := newDispatcher(t, fastConfig())
	if res := deliverOne(t, d, alert(Discord, srv.URL)); res.Outcome != Delivered {
		t.Fatalf("result %+v", res)
	}
	if gap := h.times[1].Sub(h.times[0]); gap < 300*time.Millisecond {
		t.Errorf("retried after %s; the receiver asked for 300ms", gap)
	}
}

// TestCircuitBreaker: after BreakerFailures failures in a row the
// destination is left alone for the cooldown; alerts wait instead of using
// up attempts, and go out once it answers again.
func TestCircuitBreaker(t *testing.T) {
	var mu sync.Mutex
	down := true
	h, srv := serve(t, func(_ int, w http.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	cfg := fastConfig()
	cfg.BreakerFailures, cfg.BreakerCooldown, cfg.MaxAttempts = 3, 400*time.Millisecond, 100
	d, m, logs := newDispatcher(t, cfg)
	ch := make(chan Result, 1)
	d.Submit(alert(Webhook, srv.URL+"/secret-token"), func(r Result) { ch <- r })
	testkit.Eventually(t, 5*time.Second, "the circuit opens", func() bool { return testutil.ToFloat64(m.OpenCircuits) == 1 })
	n := h.count()
	time.Sleep(200 * time.Millisecond)
	if h.count() != n {
		t.Errorf("%d requests while the circuit was open", h.count()-n)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	res := <-ch
	if res.Outcome != Delivered || res.Attempts != n+1 {
		t.Errorf("result %+v, want delivered on attempt %d", res, n+1)
	}
	if testutil.ToFloat64(m.OpenCircuits) != 0 || !logs.Contains("circuit closed") {
		t.Errorf("circuit still counted open (%v) or its closing not logged: %q", testutil.ToFloat64(m.OpenCircuits), logs.All())
	}
	if logs.Contains("secret-token") || !logs.Contains("/…") {
		t.Errorf("logs name the destination unredacted: %q", logs.All())
	}
}

// TestRateLimit: a destination gets no more requests than its rate allows;
// another destination is not held up by it.
func TestRateLimit(t *testing.T) {
	slow, srvSlow := serve(t, nil)
	_, srvOther := serve(t, nil)
	cfg := fastConfig()
	cfg.Rates = map[string]rate.Limit{Slack: 10, Webhook: rate.Inf}
	cfg.Burst = 1
	d, _, _ := newDispatcher(t, cfg)
	var wg sync.WaitGroup
	start := time.Now()
	for range 5 {
		wg.Add(1)
		d.Submit(alert(Slack, srvSlow.URL), func(Result) { wg.Done() })
	}
	if res := deliverOne(t, d, alert(Webhook, srvOther.URL)); res.Outcome != Delivered || time.Since(start) > 200*time.Millisecond {
		t.Errorf("the other destination waited %s: %+v", time.Since(start), res)
	}
	wg.Wait()
	if gap := slow.times[4].Sub(slow.times[0]); gap < 350*time.Millisecond {
		t.Errorf("5 requests at 10/s in bursts of 1 took %s, want about 400ms", gap)
	}
}

// TestBacklog: a destination with a full queue refuses more alerts at once.
func TestBacklog(t *testing.T) {
	release := make(chan struct{})
	h, srv := serve(t, func(int, http.ResponseWriter) { <-release })
	cfg := fastConfig()
	cfg.Queue = 1
	d, m, _ := newDispatcher(t, cfg)
	results := make(chan Result, 3)
	d.Submit(alert(Webhook, srv.URL), func(r Result) { results <- r })
	testkit.Eventually(t, 5*time.Second, "one request on the wire", func() bool { return h.count() == 1 })
	for range 2 {
		d.Submit(alert(Webhook, srv.URL), func(r Result) { results <- r })
	}
	// One on the wire, one queued, one refused.
	if r := <-results; r.Outcome != Failed || r.Reason != ReasonBacklog {
		t.Errorf("first result %+v, want the third alert refused for backlog", r)
	}
	close(release)
	for range 2 {
		if r := <-results; r.Outcome != Delivered {
			t.Errorf("result %+v, want delivered", r)
		}
	}
	if testutil.ToFloat64(m.Failed.WithLabelValues(Webhook, ReasonBacklog)) != 1 {
		t.Error("the refusal was not counted")
	}
}

// TestPrivateAddressesBlocked: without AllowPrivate, a destination on a
// loopback address is refused before any request.
func TestPrivateAddressesBlocked(t *testing.T) {
	h, srv := serve(t, nil)
	cfg := fastConfig()
	cfg.AllowPrivate = false
	d, _, _ := newDispatcher(t, cfg)
	res := deliverOne(t, d, alert(Webhook, srv.URL))
	if res.Outcome != Failed || res.Reason != ReasonBlocked || h.count() != 0 {
		t.Errorf("result %+v with %d requests; want blocked before any", res, h.count())
	}
}

// TestCloseCancels: Close ends the attempt on the wire and the queued
// alerts with Canceled, not Failed: they are not given up.
func TestCloseCancels(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h, srv := serve(t, func(int, http.ResponseWriter) { <-release })
	d := New(fastConfig(), NewMetrics(nil), &testkit.Logs{})
	results := make(chan Result, 2)
	d.Submit(alert(Webhook, srv.URL), func(r Result) { results <- r })
	d.Submit(alert(Webhook, srv.URL), func(r Result) { results <- r })
	testkit.Eventually(t, 5*time.Second, "one request on the wire", func() bool { return h.count() == 1 })
	d.Close()
	for range 2 {
		if r := <-results; r.Outcome != Canceled {
			t.Errorf("result %+v, want canceled", r)
		}
	}
	after := make(chan Result, 1)
	d.Submit(alert(Webhook, srv.URL), func(r Result) { after <- r })
	if r := <-after; r.Outcome != Canceled {
		t.Errorf("submitted after Close: %+v, want canceled", r)
	}
}

// TestIdleWorkerStops: a destination's worker ends after IdleAfter without
// alerts, and a later alert starts a new one.
func TestIdleWorkerStops(t *testing.T) {
	_, srv := serve(t, nil)
	cfg := fastConfig()
	cfg.IdleAfter = 50 * time.Millisecond
	d, m, _ := newDispatcher(t, cfg)
	deliverOne(t, d, alert(Webhook, srv.URL))
	testkit.Eventually(t, 5*time.Second, "the worker stops", func() bool { return testutil.ToFloat64(m.Destinations) == 0 })
	if res := deliverOne(t, d, alert(Webhook, srv.URL)); res.Outcome != Delivered {
		t.Errorf("after the worker stopped: %+v", res)
	}
}

// TestFormats checks the bodies each destination type receives.
func TestFormats(t *testing.T) {
	var hook webhookBody
	b, _ := alert(Webhook, "http://x").body()
	if err := json.Unmarshal(b, &hook); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(hook.Event, &ev); err != nil || ev["id"] != "3-1796308200031-0" || ev["premium"] != 414000.0 {
		t.Errorf("webhook event %s (%v), want the event with its id", hook.Event, err)
	}
	if hook.IdempotencyKey != "r1:3-1796308200031-0" || hook.Rule.ID != "r1" || hook.Rule.Name != "SPY <puts> & more" {
		t.Errorf("webhook body %s", b)
	}

	var slack slackMessage
	b, _ = alert(Slack, "http://x").body()
	if err := json.Unmarshal(b, &slack); err != nil {
		t.Fatal(err)
	}
	wantHead := "SPY sweep 650P 2026-12-18: 1,200 at 3.45 ($414K)"
	if slack.Text != wantHead || len(slack.Blocks) != 2 ||
		!strings.Contains(slack.Blocks[0].Text.Text, "above ask, bearish, score 82 · 15 DTE, 1.2% OTM, 3 exchanges · golden, iso") ||
		!strings.Contains(slack.Blocks[1].Elements[0].Text, "SPY &lt;puts&gt; &amp; more") {
		t.Errorf("slack body %s", b)
	}

	var discord discordMessage
	b, _ = alert(Discord, "http://x").body()
	if err := json.Unmarshal(b, &discord); err != nil {
		t.Fatal(err)
	}
	e := discord.Embeds[0]
	if e.Title != wantHead || e.Color != colorBearish || e.Timestamp != "2026-12-03T14:30:00Z" ||
		!strings.Contains(string(b), `"allowed_mentions":{"parse":[]}`) || !strings.Contains(e.Footer.Text, "3-1796308200031-0") {
		t.Errorf("discord body %s", b)
	}

	cancel := alert(Slack, "http://x")
	cancel.Event = &flow.Event{Kind: "cancel", Underlying: "SPY", Symbol: "SPY   261218P00650000", Expiry: "2026-12-18",
		Strike: 650, Right: "P", Cancels: []string{"2.104.0", "2.105.1"}}
	if head, detail := summary(cancel.Event); head != "SPY cancel 650P 2026-12-18" || detail != "retracts 2.104.0, 2.105.1" {
		t.Errorf("cancel summary %q, %q", head, detail)
	}
}

func TestMoneyAndClip(t *testing.T) {
	for v, want := range map[float64]string{950: "$950", 414_000: "$414K", 1_250_000: "$1.2M"} {
		if got := money(v); got != want {
			t.Errorf("money(%v) = %q, want %q", v, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	if got := clip("ab€€", 6); got != "ab…" {
		t.Errorf("clip = %q, want a cut before the split rune", got)
	}
}

func TestSignVerify(t *testing.T) {
	now := time.Unix(1796308200, 0)
	body := []byte(`{"a":1}`)
	sig := Sign(secret, now, body)
	// What the openssl recipe of docs/alerts.md prints for the same input.
	if want := "v1=2b7ad21c698bc1fc877722ad3bc872558c44c9b968ed8ec08d44e7a9505740a0"; sig != want {
		t.Errorf("Sign = %s, want %s", sig, want)
	}
	ts := "1796308200"
	if err := Verify(secret, ts, sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("a fresh signature: %v", err)
	}
	if err := Verify(secret, ts, "v1=00,"+sig, body, now, time.Minute); err != nil {
		t.Errorf("a list with a matching signature: %v", err)
	}
	if err := Verify(secret, ts, sig, []byte(`{"a":2}`), now, time.Minute); !errors.Is(err, ErrSignature) {
		t.Errorf("a changed body: %v", err)
	}
	if err := Verify("another secret of thirty-two bytes", ts, sig, body, now, time.Minute); !errors.Is(err, ErrSignature) {
		t.Errorf("another secret: %v", err)
	}
	if err := Verify(secret, ts, sig, body, now.Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("a replay ten minutes later passed")
	}
	if err := Verify(secret, "yesterday", sig, body, now, time.Minute); err == nil {
		t.Error("an unreadable timestamp passed")
	}
}

// TestDestinationCheck covers the checks of a destination a rule names.
func TestDestinationCheck(t *testing.T) {
	tests := []struct {
		d       Destination
		wantErr string
	}{
		{Destination{Type: Webhook, URL: "https://example.com/hook", Secret: secret}, ""},
		{Destination{Type: Slack, URL: "https://hooks.slack.com/services/T0/B0/X"}, ""},
		{Destination{Type: Discord, URL: "http://10.0.0.1:8080/api/webhooks/1/x"}, ""},
		{Destination{Type: "email", URL: "https://x"}, "destination.type"},
		{Destination{Type: Slack, URL: "ftp://x/y"}, "http or https"},
		{Destination{Type: Slack, URL: "https:///path"}, "no host"},
		{Destination{Type: Slack, URL: "https://x/#frag"}, "fragment"},
		{Destination{Type: Slack, URL: "https://x/" + strings.Repeat("a", 2048)}, "at most 2048"},
		{Destination{Type: Slack, URL: "https://x/", Secret: secret}, "only webhooks"},
		{Destination{Type: Webhook, URL: "https://x/", Secret: "short"}, "want 32 to 256"},
		{Destination{Type: Webhook, URL: "https://x/"}, "want 32 to 256"},
	}
	for _, tt := range tests {
		err := tt.d.Check()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Check(%+v) = %v, want %q", tt.d, err, tt.wantErr)
		}
	}
	if got := redact("slack https://hooks.slack.com/services/T0/B0/secret"); got != "slack https://hooks.slack.com/…" {
		t.Errorf("redact = %q", got)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "2": 2 * time.Second, "0.25": 250 * time.Millisecond, "soon": 0, "-1": 0,
		now.Add(3 * time.Second).Format(http.TimeFormat): 3 * time.Second,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	d := &Dispatcher{cfg: Config{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}}
	for n, hi := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond,
		5: time.Second, 60: time.Second} {
		for range 50 {
			if p := d.backoff(n); p < hi/2 || p > hi {
				t.Fatalf("backoff(%d) = %s, want %s to %s", n, p, hi/2, hi)
			}
		}
	}
}

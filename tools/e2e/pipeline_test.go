package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/wsclient"
)

// collector reads event frames of one client into a list.
type collector struct {
	c      *wsclient.Client
	events []map[string]any
}

func (c *collector) add(raw []json.RawMessage) error {
	for _, r := range raw {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			return fmt.Errorf("event %s: %w", r, err)
		}
		c.events = append(c.events, m)
	}
	return nil
}

// until reads frames until want events arrived, then keeps reading for quiet
// to catch any event too many.
func (c *collector) until(ctx context.Context, want int, quiet time.Duration) error {
	for len(c.events) < want {
		m, err := c.c.Read(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d events: %w", len(c.events), want, err)
		}
		if m.Op == "events" {
			if err := c.add(m.Events); err != nil {
				return err
			}
		}
	}
	qctx, cancel := context.WithTimeout(ctx, quiet)
	defer cancel()
	for {
		m, err := c.c.Read(qctx)
		if err != nil {
			return nil // quiet: nothing more arrived
		}
		if m.Op == "events" {
			if err := c.add(m.Events); err != nil {
				return err
			}
		}
	}
}

// TestTapeToWebSocket replays a known tape through ingest, scorer and edge
// and checks the exact events each client receives: content, count and
// per-underlying order, each event once even when two subscriptions of one
// connection name its underlying.
func TestTapeToWebSocket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := startStack(t)

	edgeAddr, scorerOps, ingestOps := freeAddr(t), freeAddr(t), freeAddr(t)
	group := "e2e-" + s.Topic
	if _, err := s.Service(binDir, "scorer", "LIVEFLOW_OPS_ADDR="+scorerOps, "LIVEFLOW_GROUP="+group); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service(binDir, "edge", "LIVEFLOW_HTTP_ADDR="+edgeAddr); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, "http://"+edgeAddr+"/readyz", 30*time.Second)
	waitHTTP(t, "http://"+scorerOps+"/readyz", 30*time.Second)

	wsURL := "ws://" + edgeAddr + "/ws"
	a := dial(ctx, t, wsURL)
	b := dial(ctx, t, wsURL)
	if err := a.c.Subscribe(ctx, "s1", []string{"AAPL", "TSLA"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.c.Subscribe(ctx, "s2", []string{"tsla", "SPY"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Subscribe(ctx, "only-msft", []string{"MSFT"}, nil); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Service(binDir, "ingest", "LIVEFLOW_OPS_ADDR="+ingestOps,
		"LIVEFLOW_FEED=file:testdata/tape.ndjson", "LIVEFLOW_REPLAY_SPEED=0"); err != nil {
		t.Fatal(err)
	}

	expected := readLines(t, "testdata/expected.ndjson")
	var wantA, wantB []map[string]any
	for _, e := range expected {
		if e["underlying"] == "MSFT" {
			wantB = append(wantB, e)
		} else {
			wantA = append(wantA, e)
		}
	}
	if err := a.until(ctx, len(wantA), time.Second); err != nil {
		t.Fatalf("client a: %v", err)
	}
	if err := b.until(ctx, len(wantB), time.Second); err != nil {
		t.Fatalf("client b: %v", err)
	}
	checkEvents(t, "client a", a.events, wantA)
	checkEvents(t, "client b", b.events, wantB)

	// The tape holds one malformed line, one unknown symbol and one unknown
	// type: each is counted by reason and the replay went on past them.
	metrics := "http://" + ingestOps + "/metrics"
	for reason, want := range map[string]float64{"malformed": 1, "bad_symbol": 1, "unknown_type": 1} {
		series := fmt.Sprintf(`liveflow_ingest_rejected_total{reason=%q}`, reason)
		if got := metric(t, metrics, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

func dial(ctx context.Context, t testing.TB, url string) *collector {
	t.Helper()
	c, err := wsclient.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &collector{c: c}
}

var idPattern = regexp.MustCompile(`^\d+-\d+-\d+$`)
var keyPattern = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// checkEvents compares received events with the expected ones per
// underlying, in order. Fields that depend on the run (id, key, ingest and
// scoring times) are checked for shape instead of value, and the keys of an
// aggregate's fills are replaced by "#<i>", the place of the fill's own event
// among the underlying's events, so the expected file says which prints an
// aggregate is made of.
func checkEvents(t *testing.T, who string, got, want []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s received %d events, want %d", who, len(got), len(want))
	}
	ids := map[any]bool{}
	place := map[string]string{} // event key -> "#<i>" within its underlying
	seen := map[any]int{}
	for _, e := range got {
		u := e["underlying"]
		place[fmt.Sprint(e["key"])] = fmt.Sprintf("#%d", seen[u])
		seen[u]++
	}
	for _, e := range got {
		fills, _ := e["fills"].([]any)
		for _, f := range fills {
			fm := f.(map[string]any)
			p, ok := place[fmt.Sprint(fm["key"])]
			if !ok {
				t.Errorf("%s: fill %v of event %v is not an event the client received", who, fm["key"], e["key"])
			}
			fm["key"] = p
		}
	}
	for _, e := range got {
		if !idPattern.MatchString(fmt.Sprint(e["id"])) || !keyPattern.MatchString(fmt.Sprint(e["key"])) {
			t.Errorf("%s: event id %v / key %v malformed", who, e["id"], e["key"])
		}
		if ids[e["id"]] {
			t.Errorf("%s: event %v delivered twice", who, e["id"])
		}
		ids[e["id"]] = true
		ingest, _ := e["ingest_ts"].(float64)
		scored, _ := e["scored_ts"].(float64)
		if ingest <= 0 || scored < ingest {
			t.Errorf("%s: event %v has ingest_ts %v and scored_ts %v", who, e["id"], ingest, scored)
		}
		for _, k := range []string{"id", "key", "ingest_ts", "scored_ts"} {
			delete(e, k)
		}
	}

	byUnderlying := func(events []map[string]any) map[string][]map[string]any {
		m := map[string][]map[string]any{}
		for _, e := range events {
			u := fmt.Sprint(e["underlying"])
			m[u] = append(m[u], e)
		}
		return m
	}
	g, w := byUnderlying(got), byUnderlying(want)
	for u, we := range w {
		if !reflect.DeepEqual(g[u], we) {
			t.Errorf("%s: %s events differ\n got %s\nwant %s", who, u, dump(g[u]), dump(we))
		}
	}
	for u := range g {
		if _, ok := w[u]; !ok {
			t.Errorf("%s: unexpected events for %s: %s", who, u, dump(g[u]))
		}
	}
}

func dump(events []map[string]any) string {
	var b strings.Builder
	for _, e := range events {
		j, _ := json.Marshal(e)
		b.WriteString("\n    ")
		b.Write(j)
	}
	return b.String()
}

package rules

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func rule(id, owner string, symbols ...string) Rule {
	return Rule{ID: id, Owner: owner, Name: "rule " + id, Filter: filter.Filter{Symbols: symbols},
		Destination: deliver.Destination{Type: deliver.Slack, URL: "https://hooks.slack.com/services/x"},
		Created:     time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)}
}

func TestStore(t *testing.T) {
	rdb := redistest.Universal(t)
	s := NewStore(rdb)
	ctx := context.Background()

	var last int64
	for i, id := range []string{"b", "a", "c"} {
		r := rule(id, "ann", "SPY")
		r.Created = r.Created.Add(time.Duration(i) * time.Second)
		v, err := s.Create(ctx, r, 3)
		if err != nil || v <= last {
			t.Fatalf("Create %s = %d, %v; want a version above %d", id, v, err, last)
		}
		last = v
	}
	if _, err := s.Create(ctx, rule("d", "ann", "SPY"), 3); !errors.Is(err, ErrLimit) {
		t.Errorf("a fourth rule with a limit of 3: %v, want ErrLimit", err)
	}
	if _, err := s.Create(ctx, rule("a", "bob", "SPY"), 3); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("a taken id: %v", err)
	}
	if _, err := s.Create(ctx, rule("e", "bob", "QQQ"), 3); err != nil {
		t.Fatal(err)
	}

	list, err := s.List(ctx, "ann")
	if err != nil || len(list) != 3 || list[0].ID != "b" || list[2].ID != "c" {
		t.Fatalf("List = %+v, %v; want b, a, c by creation", list, err)
	}
	if list, _ := s.List(ctx, "nobody"); list == nil || len(list) != 0 {
		t.Errorf("List of nobody = %#v, want an empty list", list)
	}
	if _, err := s.Get(ctx, "bob", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of another owner's rule: %v, want ErrNotFound", err)
	}
	r, err := s.Get(ctx, "ann", "a")
	if err != nil || r.Name != "rule a" {
		t.Fatalf("Get = %+v, %v", r, err)
	}
	r.Name = "renamed"
	if _, err := s.Replace(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Get(ctx, "ann", "a"); r.Name != "renamed" {
		t.Errorf("after Replace, name %q", r.Name)
	}
	r.Owner = "bob"
	if _, err := s.Replace(ctx, r); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replace by another owner: %v, want ErrNotFound", err)
	}
	if _, err := s.Delete(ctx, "bob", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete by another owner: %v, want ErrNotFound", err)
	}
	v, err := s.Delete(ctx, "ann", "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, rule("d", "ann", "SPY"), 3); err != nil {
		t.Errorf("after a delete, ann may create again: %v", err)
	}

	rdb.HSet(ctx, KeyRules, "broken", "{")
	all, version, bad, err := s.Load(ctx)
	if err != nil || len(all) != 4 || version != v+1 || bad["broken"] == nil {
		t.Errorf("Load = %d rules, version %d (want %d), bad %v, %v", len(all), version, v+1, bad, err)
	}
	if cur, _ := s.Version(ctx); cur != version {
		t.Errorf("Version = %d, want %d", cur, version)
	}
}

func TestCheck(t *testing.T) {
	ok := rule("x", "ann", "spy", "SPY")
	if err := ok.Check(); err != nil || len(ok.Filter.Symbols) != 1 || ok.Filter.Symbols[0] != "SPY" {
		t.Errorf("Check = %v, symbols %q; want one normalized symbol", err, ok.Filter.Symbols)
	}
	tests := map[string]func(*Rule){
		"name has":          func(r *Rule) { r.Name = strings.Repeat("n", 201) },
		"control character": func(r *Rule) { r.Name = "a\x07b" },
		"filter.kinds":      func(r *Rule) { r.Filter.Kinds = []string{"sweeps"} },
		"filter.symbols":    func(r *Rule) { r.Filter.Symbols = nil },
		"destination.type":  func(r *Rule) { r.Destination.Type = "pager" },
	}
	for want, change := range tests {
		r := rule("x", "ann", "SPY")
		change(&r)
		if err := r.Check(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v, want an error naming %q", err, want)
		}
	}
}

func TestSetMatch(t *testing.T) {
	var compiled []*Compiled
	for _, r := range []Rule{rule("spy", "a", "SPY", "QQQ"), rule("all", "a", "*"), rule("paused", "a", "SPY"), rule("msft", "a", "MSFT")} {
		if r.ID == "paused" {
			r.Paused = true
		}
		c, err := Compile(r)
		if err != nil {
			t.Fatal(err)
		}
		compiled = append(compiled, c)
	}
	s := NewSet(compiled)
	if s.Len() != 3 {
		t.Errorf("Len = %d, want 3 (one paused)", s.Len())
	}
	ids := func(rs []*Compiled) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return strings.Join(out, ",")
	}
	for u, want := range map[string]string{"SPY": "spy,all", "QQQ": "spy,all", "TSLA": "all", "MSFT": "msft,all"} {
		if got := ids(s.Match(&filter.Event{Underlying: u, Kind: "trade"}, nil)); got != want {
			t.Errorf("Match(%s) = %s, want %s", u, got, want)
		}
	}
	if _, err := Compile(Rule{ID: "x", Owner: "a", Filter: filter.Filter{Symbols: []string{"SPY"}}}); err == nil {
		t.Error("a stored rule without a destination compiled")
	}
}

// TestLiveFollowsChanges: a Live instance sees rules created and deleted
// through the change channel, and leaves out a stored rule that no longer
// passes its checks.
func TestLiveFollowsChanges(t *testing.T) {
	rdb := redistest.Universal(t)
	s := NewStore(rdb)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testkit.Logs{}
	l := NewLive(s, nil, logs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, time.Hour) // only the channel tells of changes
	}()
	defer func() { cancel(); <-done }()

	testkit.Eventually(t, 5*time.Second, "the first load", func() bool { return l.Version() == 0 })
	// The subscription may not be confirmed yet; keep adding until one is
	// announced and seen.
	testkit.Eventually(t, 5*time.Second, "a new rule loaded", func() bool {
		if _, err := s.Create(context.Background(), rule("r"+time.Now().Format("150405.000000"), "ann", "SPY"), 100); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		return l.Current().Len() > 0
	})
	n := l.Current().Len()

	bad := rule("bad", "ann", "SPY")
	bad.Filter.Kinds = []string{"nonsense"}
	if _, err := s.Create(context.Background(), bad, 100); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "the reload after the bad rule", func() bool {
		v, _ := s.Version(context.Background())
		return l.Version() == v
	})
	if l.Current().Len() != n || testutil.ToFloat64(l.invalid) != 1 || !logs.Contains("not valid") {
		t.Errorf("%d rules (want %d), %v invalid; logs %q", l.Current().Len(), n, testutil.ToFloat64(l.invalid), logs.All())
	}
}

// TestLivePolls: with no channel message (a lost one), polling finds the
// change.
func TestLivePolls(t *testing.T) {
	rdb := redistest.Universal(t)
	s := NewStore(rdb)
	ctx, cancel := context.WithCancel(context.Background())
	l := NewLive(s, nil, &testkit.Logs{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, 20*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	r := rule("a", "ann", "SPY")
	b, _ := json.Marshal(r)
	rdb.HSet(context.Background(), KeyRules, "a", b)
	rdb.Incr(context.Background(), KeyVersion) // changed without an announcement
	testkit.Eventually(t, 5*time.Second, "the change found by polling", func() bool { return l.Current().Len() == 1 })
}

package oi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/market"
	"github.com/liveflow/liveflow/services/ingest/internal/secret"
)

var key = secret.New("pk_oi_NEVER_SHOWN_77")

type sink struct {
	ticks   []tick.Tick
	reasons []string
}

func (s *sink) Tick(_ context.Context, t *tick.Tick, _ int64) error {
	s.ticks = append(s.ticks, *t)
	return nil
}
func (s *sink) Reject(reason string, _ error) { s.reasons = append(s.reasons, reason) }

var loadedAt = time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)

func TestLoadFile(t *testing.T) {
	doc := `{"status":"OK","request_id":"x","results":[
	  {"details":{"ticker":"O:SPY261218C00600000","strike_price":600},"open_interest":1200,"day":{"volume":5}},
	  {"details":{"ticker":"O:AAPL261218P00190000"},"open_interest":0},
	  {"details":{"ticker":"garbage"},"open_interest":3},
	  {"details":{"ticker":"O:TSLA261218C00400000"}},
	  {"details":{"ticker":"O:TSLA261218C00410000"},"open_interest":-4},
	  {"details":{"ticker":"O:TSLA261218C00420000"},"open_interest":2.5}]}`
	path := filepath.Join(t.TempDir(), "oi.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var s sink
	l := &Loader{Sources: []string{path}, Now: func() time.Time { return loadedAt }}
	n, err := l.Load(context.Background(), &s)
	if err != nil || n != 2 {
		t.Fatalf("Load = %d, %v; want the 2 good entries", n, err)
	}
	want := []tick.Tick{
		{Type: tick.OpenInterest, TS: loadedAt.UnixNano(), Underlying: "SPY", Symbol: "SPY   261218C00600000",
			OpenInterest: 1200},
		{Type: tick.OpenInterest, TS: loadedAt.UnixNano(), Underlying: "AAPL", Symbol: "AAPL  261218P00190000"},
	}
	if fmt.Sprint(s.ticks) != fmt.Sprint(want) {
		t.Errorf("ticks %+v,\nwant %+v", s.ticks, want)
	}
	for _, tk := range s.ticks {
		if err := tk.Validate(); err != nil {
			t.Errorf("%+v does not validate: %v", tk, err)
		}
	}
	if got := strings.Join(s.reasons, ","); got != "bad_symbol,invalid,invalid,invalid" {
		t.Errorf("rejections %s", got)
	}

	if _, err := (&Loader{Sources: []string{filepath.Join(t.TempDir(), "absent")}}).Load(
		context.Background(), &s); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v", err)
	}
}

func TestLoadFollowsPagesWithTheKey(t *testing.T) {
	var requests atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+key.Reveal() {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		switch r.URL.Query().Get("cursor") {
		case "":
			fmt.Fprintf(w, `{"results":[{"details":{"ticker":"O:SPY261218C00600000"},"open_interest":7}],`+
				`"next_url":"/v3/snapshot/options/SPY?cursor=two"}`)
		case "two":
			fmt.Fprintf(w, `{"results":[{"details":{"ticker":"O:SPY261218P00600000"},"open_interest":8}],`+
				`"next_url":"%s/v3/snapshot/options/SPY?cursor=three"}`, srv.URL)
		case "three":
			fmt.Fprint(w, `{"results":[{"details":{"ticker":"O:SPY261218P00610000"},"open_interest":9}]}`)
		}
	}))
	defer srv.Close()

	var s sink
	l := &Loader{Sources: []string{srv.URL + "/v3/snapshot/options/SPY?limit=250"}, Key: key}
	n, err := l.Load(context.Background(), &s)
	if err != nil || n != 3 || requests.Load() != 3 {
		t.Fatalf("Load = %d, %v after %d requests; want 3 ticks from 3 pages", n, err, requests.Load())
	}
	if s.ticks[2].OpenInterest != 9 || s.ticks[2].Symbol != "SPY   261218P00610000" {
		t.Errorf("last tick %+v", s.ticks[2])
	}

	// Without the key the server refuses; the error says where, not the
	// query, and never the key.
	l = &Loader{Sources: []string{srv.URL + "/v3/snapshot/options/SPY?apiKey=" + key.Reveal()}}
	_, err = l.Load(context.Background(), &s)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), key.Reveal()) {
		t.Errorf("Load without the key = %v; want a 401 that does not quote the key", err)
	}
}

func TestLoadRefusesANextURLElsewhere(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization") != "")
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"results":[],"next_url":"%s/steal"}`, other.URL)
	}))
	defer srv.Close()
	_, err := (&Loader{Sources: []string{srv.URL}, Key: key}).Load(context.Background(), &sink{})
	if err == nil || !strings.Contains(err.Error(), "not following it") || leaked.Load() {
		t.Errorf("Load = %v (key sent elsewhere: %v); want the next_url refused", err, leaked.Load())
	}
}

func TestSchedule(t *testing.T) {
	clock := time.Date(2026, 12, 4, 12, 0, 0, 0, market.NewYork) // a Friday noon
	var waits []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		clock = clock.Add(d)
		if len(waits) == 5 {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	var loads []time.Time
	load := func(context.Context) error {
		loads = append(loads, clock)
		if len(loads) <= 2 {
			return errors.New("vendor down")
		}
		return nil
	}
	Schedule(ctx, At{9, 0}, func() time.Time { return clock }, wait, load)

	// Friday noon: fails, retried after 5 s and 10 s, then waits over the
	// weekend for Monday 09:00, and a day for Tuesday 09:00.
	want := []time.Time{
		time.Date(2026, 12, 4, 12, 0, 0, 0, market.NewYork),
		time.Date(2026, 12, 4, 12, 0, 5, 0, market.NewYork),
		time.Date(2026, 12, 4, 12, 0, 15, 0, market.NewYork),
		time.Date(2026, 12, 7, 9, 0, 0, 0, market.NewYork),
		time.Date(2026, 12, 8, 9, 0, 0, 0, market.NewYork),
	}
	if fmt.Sprint(loads) != fmt.Sprint(want) {
		t.Errorf("loads at %v,\nwant %v", loads, want)
	}
	if len(waits) != 5 || waits[4] != 24*time.Hour {
		t.Errorf("waits %v", waits)
	}
	if _, err := ParseAt("9am"); err == nil {
		t.Error("ParseAt(9am) accepted")
	}
	if at, err := ParseAt("09:15"); err != nil || at != (At{9, 15}) {
		t.Errorf("ParseAt(09:15) = %v, %v", at, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"results":[{"details":{"ticker":"O:SPY261218C00600000"},"open_interest":7}]}`))
	f.Add([]byte(`{"results":[{"details":{"ticker":"x"},"open_interest":1e300}],"next_url":3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decode(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		var s sink
		if _, err := emit(context.Background(), p, loadedAt.UnixNano(), &s); err != nil {
			t.Fatal(err)
		}
		for _, tk := range s.ticks {
			if err := tk.Validate(); err != nil {
				t.Fatalf("emitted an invalid tick %+v: %v", tk, err)
			}
		}
	})
}

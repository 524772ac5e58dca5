// Package oi loads open interest, published once a day for the prior
// session, from snapshots in the vendor's option-chain shape:
//
//	{"status":"OK","results":[
//	  {"details":{"ticker":"O:SPY261218C00600000"},"open_interest":1200},
//	  ...],
//	 "next_url":"https://api.example.com/v3/snapshot/options/SPY?cursor=..."}
//
// Fields other than details.ticker and open_interest are ignored. A source
// is a file holding one such document or an http(s) URL whose pages are
// followed through next_url.
package oi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
	"github.com/liveflow/liveflow/services/ingest/internal/secret"
)

// Limits that keep a broken or hostile endpoint from taking the service's
// memory or time.
const (
	maxPageBytes = 64 << 20
	maxPages     = 10_000
)

// Loader reads open-interest snapshots.
type Loader struct {
	Sources []string         // file paths or http(s) URLs
	Key     secret.String    // sent as a bearer token to URLs; may be empty
	Client  *http.Client     // default http.DefaultClient
	Now     func() time.Time // the time oi ticks are stamped with; default time.Now
}

type page struct {
	Results []struct {
		Details struct {
			Ticker string `json:"ticker"`
		} `json:"details"`
		OpenInterest *float64 `json:"open_interest"`
	} `json:"results"`
	NextURL string `json:"next_url"`
}

// Load reads every source and hands each contract's open interest to sink
// as an oi tick; entries that cannot be used are rejected to sink and the
// load goes on. It returns how many ticks it handed over and the first
// error that stopped a source (the other sources are still read).
func (l *Loader) Load(ctx context.Context, sink feed.Sink) (int, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	ts := now().UnixNano()
	var first error
	n := 0
	for _, src := range l.Sources {
		var k int
		var err error
		if isURL(src) {
			k, err = l.fetch(ctx, src, ts, sink)
		} else {
			k, err = l.file(ctx, src, ts, sink)
		}
		n += k
		if err != nil && first == nil {
			first = err
		}
	}
	return n, first
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func (l *Loader) file(ctx context.Context, path string, ts int64, sink feed.Sink) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("oi: %w", err)
	}
	defer f.Close()
	p, err := decode(f)
	if err != nil {
		return 0, fmt.Errorf("oi: %s: %w", path, err)
	}
	return emit(ctx, p, ts, sink)
}

// fetch reads a URL and the pages after it. The key is sent only to the
// first URL's host: a next_url elsewhere is refused.
func (l *Loader) fetch(ctx context.Context, raw string, ts int64, sink feed.Sink) (int, error) {
	first, err := url.Parse(raw)
	if err != nil {
		return 0, fmt.Errorf("oi: snapshot address is not a URL")
	}
	client := l.Client
	if client == nil {
		client = http.DefaultClient
	}
	n := 0
	u := first
	for i := 0; i < maxPages; i++ {
		p, err := l.get(ctx, client, u)
		if err != nil {
			return n, err
		}
		k, err := emit(ctx, p, ts, sink)
		n += k
		if err != nil || p.NextURL == "" {
			return n, err
		}
		if u, err = first.Parse(p.NextURL); err != nil || u.Scheme != first.Scheme || u.Host != first.Host {
			return n, fmt.Errorf("oi: %s: next_url leaves %s; not following it with the key",
				safe(first), first.Host)
		}
	}
	return n, fmt.Errorf("oi: %s: more than %d pages", safe(first), maxPages)
}

func (l *Loader) get(ctx context.Context, client *http.Client, u *url.URL) (*page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("oi: %s: %w", safe(u), err)
	}
	req.Header.Set("Accept", "application/json")
	if !l.Key.IsZero() {
		req.Header.Set("Authorization", "Bearer "+l.Key.Reveal())
	}
	resp, err := client.Do(req)
	if err != nil {
		// The client's error quotes the URL, query included: say only where.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("oi: GET %s: %w", safe(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oi: GET %s: %s", safe(u), resp.Status)
	}
	p, err := decode(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("oi: GET %s: %w", safe(u), err)
	}
	return p, nil
}

// safe names a URL without its query, which may hold a cursor or a key.
func safe(u *url.URL) string { return u.Scheme + "://" + u.Host + u.Path }

func decode(r io.Reader) (*page, error) {
	var p page
	lr := &io.LimitedReader{R: r, N: maxPageBytes + 1}
	if err := json.NewDecoder(lr).Decode(&p); err != nil {
		return nil, fmt.Errorf("not a snapshot document: %w", err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("page larger than %d bytes", maxPageBytes)
	}
	return &p, nil
}

func emit(ctx context.Context, p *page, ts int64, sink feed.Sink) (int, error) {
	n := 0
	for i, r := range p.Results {
		c, err := occ.Parse(r.Details.Ticker)
		if err != nil {
			sink.Reject(tape.ReasonSymbol, fmt.Errorf("oi: result %d: %w", i, err))
			continue
		}
		oi := r.OpenInterest
		if oi == nil || *oi < 0 || *oi != math.Trunc(*oi) || *oi > 1e12 {
			sink.Reject(tape.ReasonInvalid, fmt.Errorf("oi: result %d (%s): open_interest missing or not a count",
				i, r.Details.Ticker))
			continue
		}
		t := tick.Tick{Type: tick.OpenInterest, TS: ts, Symbol: c.String(), Underlying: c.Root,
			OpenInterest: int64(*oi)}
		if err := sink.Tick(ctx, &t, 0); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

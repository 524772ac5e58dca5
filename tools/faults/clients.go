package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/liveflow/liveflow/pkg/wsclient"
)

// client is one WebSocket client following a set of underlyings across
// edges with a wsclient.Follower, recording every event it is handed.
type client struct {
	name    string
	symbols map[string]bool
	f       *wsclient.Follower

	mu       sync.Mutex
	received map[string][]received // by event key, every time it was handed one
	notices  []wsclient.Notice
	err      error // why Run stopped early
}

// received is one event as a client got it.
type received struct {
	id    string
	event map[string]any // without the fields that differ between runs
}

func newClient(name string, urls []string, symbols []string) (*client, error) {
	c := &client{name: name, symbols: map[string]bool{}, received: map[string][]received{}}
	for _, s := range symbols {
		c.symbols[s] = true
	}
	f, err := wsclient.NewFollower(wsclient.FollowConfig{
		URLs: urls, ID: name, Filter: map[string]any{"symbols": symbols},
		OnEvents: c.onEvents, OnNotice: c.onNotice,
	})
	if err != nil {
		return nil, err
	}
	c.f = f
	return c, nil
}

func (c *client) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.f.Run(ctx); err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
		}
	}()
}

func (c *client) onEvents(evs []wsclient.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		var m map[string]any
		if err := json.Unmarshal(ev.Raw, &m); err != nil {
			c.err = fmt.Errorf("%s: event %s does not decode: %w", c.name, ev.ID, err)
			continue
		}
		key, _ := m["key"].(string)
		delete(m, "id")
		trim(m)
		c.received[key] = append(c.received[key], received{id: ev.ID, event: m})
	}
}

func (c *client) onNotice(n wsclient.Notice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notices = append(c.notices, n)
}

// subscribed reports whether the client has had its first subscribed reply.
func (c *client) subscribed() bool { return c.f.Stats().Connections > 0 }

// has reports how many of the keys the client has received.
func (c *client) has(keys []string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range keys {
		if len(c.received[k]) > 0 {
			n++
		}
	}
	return n
}

// trim drops the fields that record when something happened, which differ
// between the scorers' run and the reference run.
func trim(m map[string]any) {
	delete(m, "ingest_ts")
	delete(m, "scored_ts")
}

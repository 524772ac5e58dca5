//go:build scale

// The scale-out suite (`make test-scale`, build tag "scale"): the pipeline on
// a Redis Cluster through a master failover, several scorers joining and
// leaving the group, and several edges behind haproxy with one drained. Each
// test starts everything it needs; haproxy must be installed
// (scripts/deps.sh haproxy).

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/redisconn"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/wsclient"
	"github.com/liveflow/liveflow/tools/stack"
)

// startScaleStack starts kfake with a ticks topic of partitions partitions
// and a private Redis: a cluster when cluster is set. Service output goes to
// the test log and to logs, when not nil.
func startScaleStack(t testing.TB, partitions int32, cluster *localredis.ClusterOptions, logs *lineLog) *stack.Stack {
	t.Helper()
	topic := fmt.Sprintf("scale-%s-%d.ticks", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	tl := &testLog{t: t}
	var out io.Writer = tl
	if logs != nil {
		logs.next = tl
		out = logs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Config{
		TicksTopic: topic, Partitions: partitions, RedisCluster: cluster, Logs: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		tl.stop()
	})
	return s
}

// lineLog keeps the lines services print, and passes them on.
type lineLog struct {
	mu    sync.Mutex
	lines []string
	next  io.Writer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	l.mu.Unlock()
	if l.next != nil {
		return l.next.Write(p)
	}
	return len(p), nil
}

// matching returns the lines that match re, from the n-th line on.
func (l *lineLog) matching(re *regexp.Regexp, from int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines[min(from, len(l.lines)):] {
		if re.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// readStreams returns every event of every shard stream by key, as
// readEvents does, from a single Redis or a cluster.
func readStreams(t testing.TB, addrs string) map[string]map[string]any {
	t.Helper()
	rdb, err := redisconn.New(addrs, redisconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	out := map[string]map[string]any{}
	for shard := range stream.DefaultShards {
		msgs, err := rdb.XRange(context.Background(), stream.Key(shard), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var e map[string]any
			if err := json.Unmarshal([]byte(m.Values[stream.FieldEvent].(string)), &e); err != nil {
				t.Fatal(err)
			}
			delete(e, "ingest_ts")
			delete(e, "scored_ts")
			key := fmt.Sprint(e["key"])
			if _, dup := out[key]; dup {
				t.Errorf("event %s is in the streams twice", key)
			}
			out[key] = e
		}
	}
	return out
}

// follower is a WebSocket client that follows underlyings through whatever
// edge it reaches, as a well-behaved client of docs/protocol.md does: on a
// 1012 close it reconnects after a short random delay and subscribes again
// with resume_from set to the last id it saw of each shard.
type follower struct {
	url     string
	symbols []string

	mu      sync.Mutex
	keys    map[string]int    // event key: copies received
	last    map[string]string // shard: last id received
	order   []string          // ids out of order within their shard
	n       int               // events received
	restart int               // 1012 closes
	resumes map[string]int    // resume outcome of each reconnect: "complete", "gap"
	lagged  int
	err     error // why it stopped, if not by its context
}

func newFollower(url string, symbols []string) *follower {
	return &follower{url: url, symbols: symbols, keys: map[string]int{}, last: map[string]string{},
		resumes: map[string]int{}}
}

// event is what a follower reads of each event.
type event struct {
	ID         string `json:"id"`
	Key        string `json:"key"`
	Underlying string `json:"underlying"`
}

// start connects and subscribes, then follows in the background until ctx
// ends; it returns once the first subscription is confirmed.
func (f *follower) start(ctx context.Context, wg *sync.WaitGroup) error {
	c, err := f.subscribe(ctx)
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.follow(ctx, c)
	}()
	return nil
}

// follow reads events until ctx ends, reconnecting after each 1012.
func (f *follower) follow(ctx context.Context, c *wsclient.Client) {
	for {
		err := f.read(ctx, c)
		c.Conn().CloseNow()
		if ctx.Err() != nil {
			return
		}
		if websocket.CloseStatus(err) != websocket.StatusServiceRestart {
			f.fail(fmt.Errorf("connection ended: %w", err))
			return
		}
		f.mu.Lock()
		f.restart++
		f.mu.Unlock()
		// The protocol asks for a short random delay before reconnecting,
		// and a node that drains may refuse a few more before the load
		// balancer stops sending it clients.
		for {
			time.Sleep(time.Duration(20+rand.IntN(180)) * time.Millisecond)
			if c, err = f.subscribe(ctx); err == nil || ctx.Err() != nil {
				break
			}
			if websocket.CloseStatus(err) != websocket.StatusServiceRestart {
				f.fail(fmt.Errorf("reconnect: %w", err))
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
}

func (f *follower) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// subscribe dials and subscribes, resuming after the last ids when it has
// any, and takes in what the reply carries.
func (f *follower) subscribe(ctx context.Context) (*wsclient.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(dctx, f.url)
	if err != nil {
		return nil, err
	}
	req := map[string]any{"op": "subscribe", "id": "s", "filter": map[string]any{"symbols": f.symbols}}
	f.mu.Lock()
	var from []string
	for _, id := range f.last {
		from = append(from, id)
	}
	f.mu.Unlock()
	if len(from) > 0 {
		slices.Sort(from)
		req["resume_from"] = from
	}
	if err := c.Send(dctx, req); err != nil {
		c.Conn().CloseNow()
		return nil, err
	}
	for {
		m, err := c.Read(dctx)
		if err != nil {
			c.Conn().CloseNow()
			return nil, err
		}
		switch m.Op {
		case "events":
			f.add(m.Events)
		case "error":
			c.Conn().CloseNow()
			return nil, fmt.Errorf("subscribe: %s: %s", m.Code, m.Message)
		case "subscribed":
			if len(from) > 0 {
				f.mu.Lock()
				f.resumes[m.Resume]++
				f.mu.Unlock()
			}
			f.add(m.Missed)
			return c, nil
		}
	}
}

// read takes in frames until the connection ends.
func (f *follower) read(ctx context.Context, c *wsclient.Client) error {
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return err
		}
		switch m.Op {
		case "events":
			f.add(m.Events)
		case "lagged":
			f.mu.Lock()
			f.lagged++
			f.mu.Unlock()
		}
	}
}

func (f *follower) add(raw []json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range raw {
		var e event
		if err := json.Unmarshal(r, &e); err != nil {
			if f.err == nil {
				f.err = fmt.Errorf("event %s: %w", r, err)
			}
			continue
		}
		f.n++
		f.keys[e.Key]++
		shard, _, _ := strings.Cut(e.ID, "-")
		if prev, ok := f.last[shard]; ok && compareIDs(prev, e.ID) >= 0 {
			f.order = append(f.order, e.ID)
		}
		f.last[shard] = e.ID
	}
}

// received returns the number of events received.
func (f *follower) received() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// check compares what the follower received with the events of its
// underlyings: each exactly once, in order within each shard.
func (f *follower) check(t *testing.T, who string, all map[string]map[string]any) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		t.Errorf("%s: %v", who, f.err)
	}
	var missing, extra, dups []string
	want := 0
	for key, e := range all {
		if !slices.Contains(f.symbols, fmt.Sprint(e["underlying"])) {
			continue
		}
		want++
		if f.keys[key] == 0 {
			missing = append(missing, fmt.Sprintf("%s (%v)", key, e["kind"]))
		}
	}
	for key, n := range f.keys {
		if _, ok := all[key]; !ok {
			extra = append(extra, key)
		}
		if n > 1 {
			dups = append(dups, key)
		}
	}
	slices.Sort(missing)
	slices.Sort(dups)
	if len(missing)+len(extra)+len(dups)+len(f.order) > 0 {
		t.Errorf("%s: of %d events, %d missing %v, %d unknown %v, %d received twice %v, %d out of order %v",
			who, want, len(missing), head(missing), len(extra), head(extra), len(dups), head(dups),
			len(f.order), head(f.order))
	}
	if f.resumes["gap"] > 0 || f.lagged > 0 {
		t.Errorf("%s: %d resumes with a gap, %d lagged notices; want none", who, f.resumes["gap"], f.lagged)
	}
}

// compareIDs orders two event ids "<shard>-<ms>-<seq>" of one shard.
func compareIDs(a, b string) int {
	pa, pb := strings.Split(a, "-"), strings.Split(b, "-")
	if len(pa) != 3 || len(pb) != 3 {
		return strings.Compare(a, b)
	}
	for i := 1; i < 3; i++ {
		x, _ := strconv.ParseUint(pa[i], 10, 64)
		y, _ := strconv.ParseUint(pb[i], 10, 64)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// waitReceived waits until every follower has received the events of its
// underlyings among all, then a little longer for any event too many.
func waitReceived(t *testing.T, followers []*follower, all map[string]map[string]any, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for i, f := range followers {
		want := 0
		for _, e := range all {
			if slices.Contains(f.symbols, fmt.Sprint(e["underlying"])) {
				want++
			}
		}
		for f.received() < want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := f.received(); got < want {
			t.Errorf("follower %d received %d of %d events within %s", i, got, want, within)
		}
	}
	time.Sleep(500 * time.Millisecond)
}

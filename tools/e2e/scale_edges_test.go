//go:build scale

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/liveflow/liveflow/tools/stack"
)

// TestScaleEdgesBehindHAProxy puts three edges behind haproxy and 30
// clients on it, each following 20 underlyings, while a tape plays. One
// edge is drained (SIGTERM): it answers /readyz 503, haproxy takes it out,
// and its clients, closed with 1012 over the drain period, reconnect
// through haproxy to the other edges and resume from their last ids. Every
// client must receive every event of its underlyings exactly once, in
// order, with no resume reporting a gap.
func TestScaleEdgesBehindHAProxy(t *testing.T) {
	const ticks, clients = 30_000, 30
	path := synthTape(t, ticks)
	s := startScaleStack(t, 4, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	group := "g-" + s.Topic
	scorerOps := freeAddr(t)
	if _, err := s.Service(binDir, "scorer", "LIVEFLOW_OPS_ADDR="+scorerOps, "LIVEFLOW_GROUP="+group,
		"LIVEFLOW_CHECKPOINT_INTERVAL=200ms"); err != nil {
		t.Fatal(err)
	}
	var edges []string
	var procs []*stack.Process
	for range 3 {
		addr := freeAddr(t)
		p, err := s.Service(binDir, "edge", "LIVEFLOW_HTTP_ADDR="+addr,
			"LIVEFLOW_DRAIN_PERIOD=2s", "LIVEFLOW_SHUTDOWN_GRACE=6s")
		if err != nil {
			t.Fatal(err)
		}
		edges, procs = append(edges, addr), append(procs, p)
	}
	for _, a := range append([]string{scorerOps}, edges...) {
		waitHTTP(t, "http://"+a+"/readyz", 60*time.Second)
	}
	lb, err := stack.StartHAProxy(ctx, edges, stack.HAProxyOptions{Logs: &testLog{t: t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lb.Stop(); err != nil {
			t.Error(err)
		}
	})

	symbols := tapeUnderlyings(t, path)
	var wg sync.WaitGroup
	fctx, stopFollowers := context.WithCancel(ctx)
	defer func() { stopFollowers(); wg.Wait() }()
	var followers []*follower
	for i := range clients {
		var mine []string
		for k := range 20 {
			mine = append(mine, symbols[(i*7+k)%len(symbols)])
		}
		f := newFollower("ws://"+lb.Addr+"/ws", mine)
		if err := f.start(fctx, &wg); err != nil {
			t.Fatal(err)
		}
		followers = append(followers, f)
	}
	conns := connections(t, edges)
	for i, n := range conns {
		if n < clients/6 {
			t.Errorf("haproxy gave edge %d %d of %d clients (all: %v); want them spread", i, n, clients, conns)
		}
	}

	if _, err := s.Service(binDir, "ingest", "LIVEFLOW_OPS_ADDR="+freeAddr(t),
		"LIVEFLOW_FEED=file:"+path, "LIVEFLOW_REPLAY_SPEED=0.5"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)

	// Drain edge 0 and watch the load balancer see it go.
	drained := make(chan error, 1)
	go func() { drained <- procs[0].Stop(15 * time.Second) }()
	sawNotReady, sawDown := false, false
	for waiting := true; waiting; {
		select {
		case err := <-drained:
			if err != nil {
				t.Errorf("draining edge: %v", err)
			}
			waiting = false
		case <-time.After(20 * time.Millisecond):
			if code := status(edges[0] + "/readyz"); code == http.StatusServiceUnavailable {
				sawNotReady = true
			}
			if states, err := lb.States(); err == nil && states["edge0"] == "DOWN" {
				sawDown = true
			}
		}
	}
	if !sawNotReady || !sawDown {
		t.Errorf("while draining, edge 0 answered /readyz 503: %v; haproxy marked it down: %v; want both",
			sawNotReady, sawDown)
	}

	waitConsumed(t, s, group, ticks)
	events := readStreams(t, s.Redis)
	checkFlowTopic(t, "edges behind haproxy", s, events)
	waitReceived(t, followers, events, 60*time.Second)
	restarts, resumed := 0, 0
	for i, f := range followers {
		f.check(t, fmt.Sprintf("client %d", i), events)
		f.mu.Lock()
		restarts += f.restart
		resumed += f.resumes["complete"]
		f.mu.Unlock()
	}
	if restarts < conns[0] || resumed != restarts {
		t.Errorf("edge 0 held %d clients; %d were closed with 1012 and %d resumed completely; want all of them",
			conns[0], restarts, resumed)
	}
	if after := connections(t, edges[1:]); after[0]+after[1] != clients {
		t.Errorf("after the drain the other edges hold %v clients, want all %d", after, clients)
	}
	t.Logf("%d events; clients per edge %v; %d clients moved and resumed", len(events), conns, resumed)
}

// connections returns the connections each edge holds.
func connections(t testing.TB, edges []string) []int {
	t.Helper()
	out := make([]int, len(edges))
	for i, a := range edges {
		out[i] = int(metric(t, "http://"+a+"/metrics", "liveflow_edge_connections"))
	}
	return out
}

// status returns the HTTP status of a GET, or 0 when none came.
func status(url string) int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

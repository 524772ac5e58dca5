package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/loadtest/internal/proc"
	"github.com/liveflow/liveflow/loadtest/internal/tally"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/stream"
)

// rig is what the run measures against: Redis and the edge, started here or
// given.
type rig struct {
	rdb        *redis.Client
	redis      *localredis.Server // nil when given
	edge       *edgeProc          // nil when given
	redisAddr  string
	url        string
	metricsURL string
}

// setUp starts what cfg asks edgebench to start and checks that the edge's
// metrics can be read.
func setUp(ctx context.Context, cfg config) (*rig, error) {
	r := &rig{redisAddr: cfg.redisAddr, url: cfg.url, metricsURL: cfg.metricsURL}
	if r.redisAddr == "" {
		s, err := localredis.Start(ctx, localredis.Options{})
		if err != nil {
			return nil, err
		}
		r.redis, r.redisAddr = s, s.Addr()
	}
	r.rdb = redis.NewClient(&redis.Options{Addr: r.redisAddr, ContextTimeoutEnabled: true})
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		r.close()
		return nil, fmt.Errorf("edgebench: redis at %s: %w", r.redisAddr, err)
	}
	if cfg.edgeBin != "" {
		e, err := startEdge(ctx, cfg.edgeBin, r.redisAddr, cfg.shards)
		if err != nil {
			r.close()
			return nil, err
		}
		r.edge = e
		r.url, r.metricsURL = "ws://"+e.addr+"/ws", "http://"+e.addr+"/metrics"
	}
	if _, err := scrape(ctx, r.metricsURL, edgeSeries); err != nil {
		r.close()
		return nil, fmt.Errorf("%w (is the edge running? -edge-bin starts one)", err)
	}
	return r, nil
}

func (r *rig) close() {
	if r.edge != nil {
		r.edge.stop()
	}
	if r.rdb != nil {
		r.rdb.Close()
	}
	if r.redis != nil {
		r.redis.Stop()
	}
}

// describe says where the run's Redis and edge are.
func (r *rig) describe() string {
	redisNote, edgeNote := "given", "given"
	if r.redis != nil {
		redisNote = "private redis-server started by edgebench"
	}
	if r.edge != nil {
		edgeNote = fmt.Sprintf("pid %d started by edgebench, log %s", r.edge.cmd.Process.Pid, r.edge.log)
	}
	return fmt.Sprintf("edge %s (%s)\nredis %s (%s)", r.url, edgeNote, r.redisAddr, redisNote)
}

// run measures the edge and prints the report to out as it goes.
func run(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	// The clients, plus Redis, HTTP and the rest.
	fdLine, err := proc.RaiseFileLimit(uint64(cfg.clients) + 256)
	if err != nil {
		return nil, err
	}
	p, err := newPool(cfg.poolSize, cfg.seed, cfg.markets)
	if err != nil {
		return nil, err
	}
	r, err := setUp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	w, err := stream.NewWriter(r.rdb, stream.WriterConfig{Shards: cfg.shards, Notify: cfg.notify})
	if err != nil {
		return nil, err
	}
	clients := newClients(cfg, p)
	pass := profilePasses(p)
	rep := &report{cfg: cfg, pool: p, clients: clients, fanout: fanout(p, clients, pass)}
	rep.printSetup(out, r.describe(), fdLine)
	m := &measure{win: newWindow(), lat: newLatencies(), reasons: tally.New(),
		words: int(cfg.rate*cfg.duration.Seconds()*1.1)/64 + 1}
	if err := drive(ctx, cfg, r, newProducer(w, p, cfg.rate), m, rep, out); err != nil {
		return nil, err
	}
	account(p, clients, pass, rep.lo, rep.hi)
	rep.lat = m.lat.merged()
	rep.reasons = m.reasons
	rep.print(out)
	return rep, nil
}

// drive runs the producer and the clients through the phases of the run and
// returns once both have stopped.
func drive(ctx context.Context, cfg config, r *rig, prod *producer, m *measure, rep *report,
	out io.Writer) error {
	pctx, stopProducer := context.WithCancel(ctx)
	go prod.run(pctx)
	defer func() { stopProducer(); <-prod.done }()

	cctx, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopClients(); wg.Wait() }()
	if err := ramp(cctx, cfg, r.url, rep.clients, m, &wg, out); err != nil {
		return err
	}
	if rep.subscribed = countSubscribed(rep.clients); rep.subscribed == 0 {
		return fmt.Errorf("edgebench: no client could connect and subscribe: %s", m.reasons.First())
	}
	return measureWindow(ctx, cfg, r, prod, rep.clients, m, rep, out)
}

// newClients gives each client its watchlist and filter. The same seed and
// pool give the same clients.
func newClients(cfg config, p *pool) []*client {
	rng := rand.New(rand.NewPCG(uint64(cfg.seed), 0x65646765))
	clients := make([]*client, cfg.clients)
	for i := range clients {
		list := watch.Watchlist(rng, p.counts, cfg.symbols, cfg.skew)
		symbols := make([]string, len(list))
		for j, u := range list {
			symbols[j] = p.underlyings[u]
		}
		prof := watch.ProfileOf(watch.Mix, i)
		clients[i] = &client{n: i, profile: prof, watch: list, filter: watch.Mix[prof].Make(symbols),
			last: make([]int64, cfg.shards)}
	}
	return clients
}

// ramp starts the clients at most cfg.ramp a second and waits until each
// has subscribed or failed. The clients run on until ctx ends.
func ramp(ctx context.Context, cfg config, url string, clients []*client, m *measure,
	wg *sync.WaitGroup, out io.Writer) error {
	var ready sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		if err := sleep(ctx, time.Until(start.Add(time.Duration(float64(i)/cfg.ramp*1e9)))); err != nil {
			break
		}
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx, url, m, ready.Done)
		}()
	}
	ready.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	n := countSubscribed(clients)
	row(out, "ramp", "%s of %s clients subscribed in %.1fs (at most %s/s); %d failed",
		commas(int64(n)), commas(int64(len(clients))), time.Since(start).Seconds(),
		trimFloat(cfg.ramp), len(clients)-n)
	return nil
}

func countSubscribed(clients []*client) int {
	n := 0
	for _, c := range clients {
		if c.subscribed {
			n++
		}
	}
	return n
}

// measureWindow waits out the warm-up, then marks and samples both ends of
// the window, then waits out the tail.
func measureWindow(ctx context.Context, cfg config, r *rig, prod *producer, clients []*client,
	m *measure, rep *report, out io.Writer) error {
	guard := func(d time.Duration) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var edgeDone <-chan struct{}
		if r.edge != nil {
			edgeDone = r.edge.done
		}
		select {
		case <-edgeDone:
			return fmt.Errorf("edgebench: the edge exited (%v); its log %s ends: %s", r.edge.err, r.edge.log,
				tail(r.edge.log))
		case <-prod.done:
			return fmt.Errorf("edgebench: writing events stopped: %w", prod.err)
		default:
		}
		return sleep(ctx, d)
	}
	row(out, "phases", "warm-up %s, window %s, tail %s", cfg.warmup, cfg.duration, cfg.tail)
	if err := guard(cfg.warmup); err != nil {
		return err
	}
	var err error
	if rep.lo, err = prod.mark(ctx, &m.win.lo); err != nil {
		return err
	}
	if rep.start, err = take(ctx, r.metricsURL, r.rdb, clients); err != nil {
		return err
	}
	if err := guard(cfg.duration); err != nil {
		return err
	}
	if rep.hi, err = prod.mark(ctx, &m.win.hi); err != nil {
		return err
	}
	if rep.end, err = take(ctx, r.metricsURL, r.rdb, clients); err != nil {
		return err
	}
	rep.behind = prod.behindCount()
	return guard(cfg.tail)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Command edgebench measures one edge process under many WebSocket clients:
// deliveries per CPU-second of the edge, latency from Redis to client, and
// whether every client got what its filter asked for.
//
// It writes realistic scored events (the synthetic market run through the
// scoring engine) straight into the Redis shard streams, as the scorer does,
// stamping each with the time just before its write; opens -clients
// connections, each subscribed to a watchlist with a filter; and after a
// warm-up measures for -duration. It knows every event it wrote and every
// client's filter, so it counts per client what should have arrived, what
// did, and what arrived twice.
//
// With -edge-bin it starts the edge itself, as a separate process on a free
// loopback port; otherwise it measures the edge at -url and reads that edge's
// CPU time from -metrics-url. With -redis-addr empty it starts a private
// redis-server; a Redis given must have no scorer writing to it, since the
// accounting counts on being the only writer. It talks to nothing else and
// stops by itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config is the run's settings, as the flags give them.
type config struct {
	url        string
	metricsURL string
	edgeBin    string
	redisAddr  string
	shards     int
	notify     bool
	clients    int
	symbols    int
	skew       float64
	rate       float64
	poolSize   int
	seed       int64
	markets    int // underlyings of the synthetic market
	ramp       float64
	warmup     time.Duration
	duration   time.Duration
	tail       time.Duration
	check      bool
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("edgebench", flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "ws://127.0.0.1:8080/ws", "WebSocket URL of the edge under test")
	fs.StringVar(&c.metricsURL, "metrics-url", "http://127.0.0.1:8080/metrics",
		"Prometheus endpoint of the same edge, for its process_cpu_seconds_total")
	fs.StringVar(&c.edgeBin, "edge-bin", "",
		"edge binary to start on a free loopback port instead of measuring the one at -url")
	fs.StringVar(&c.redisAddr, "redis-addr", "",
		"Redis host:port the edge reads; empty starts a private redis-server (needs -edge-bin)")
	fs.IntVar(&c.shards, "shards", 16, "shard streams; must match the edge's -shards")
	fs.BoolVar(&c.notify, "stream-notify", false,
		"announce each write on the shard channels, as a scorer with -stream-notify does; needed by an edge with -fanout pubsub")
	fs.IntVar(&c.clients, "clients", 10_000, "WebSocket clients")
	fs.IntVar(&c.symbols, "symbols", 20, "underlyings in each client's watchlist")
	fs.Float64Var(&c.skew, "watch-skew", 0.5, "watchlists draw an underlying with weight "+
		"(its events in the pool)^skew: 1 in proportion to activity, 0 uniformly")
	// The default makes about 50,000 deliveries a second in the standard
	// scenario (10,000 clients, 20 symbols): half a core of an edge at the
	// target of 100,000 per CPU-second, leaving a 2-core machine room for
	// the clients. The report prints the fan-out to scale it by.
	fs.Float64Var(&c.rate, "rate", 30, "events written per second, in batches every millisecond")
	fs.IntVar(&c.poolSize, "pool", 20_000, "scored events pre-generated and written round and round")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the synthetic market and of the watchlists")
	fs.IntVar(&c.markets, "underlyings", 300, "underlyings of the synthetic market")
	fs.Float64Var(&c.ramp, "ramp", 1000, "clients connected per second at most")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second,
		"time between the last client subscribing and the measured window")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the measured window")
	fs.DurationVar(&c.tail, "tail", 2*time.Second,
		"after the window, how long events written in it may still arrive and count")
	fs.BoolVar(&c.check, "check", false, "exit with status 1 unless the edge met every target "+
		"(deliveries per CPU-second, p99, no client starved)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if c.edgeBin != "" && (explicit["url"] || explicit["metrics-url"]) {
		return c, errors.New("-edge-bin starts an edge on a free port: leave -url and -metrics-url unset")
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if c.edgeBin == "" {
		if err := checkURL("-url", c.url, "ws", "wss"); err != nil {
			return err
		}
		if err := checkURL("-metrics-url", c.metricsURL, "http", "https"); err != nil {
			return err
		}
	}
	switch {
	case c.shards < 1 || c.shards > 1024:
		return fmt.Errorf("-shards %d: want 1 to 1024, as the edge", c.shards)
	case c.clients < 1 || c.clients > 100_000:
		return fmt.Errorf("-clients %d: want 1 to 100000", c.clients)
	case c.symbols < 1 || c.symbols > 1000:
		return fmt.Errorf("-symbols %d: want 1 to 1000 (the protocol's limit)", c.symbols)
	case !(c.skew >= 0 && c.skew <= 4):
		return fmt.Errorf("-watch-skew %v: want 0 to 4", c.skew)
	case !(c.rate > 0 && c.rate <= 1_000_000):
		return fmt.Errorf("-rate %v: want more than 0 and at most 1000000 events/s", c.rate)
	case c.poolSize < 100 || c.poolSize > 1_000_000:
		return fmt.Errorf("-pool %d: want 100 to 1000000 events", c.poolSize)
	case c.markets < c.symbols || c.markets > 10_000:
		return fmt.Errorf("-underlyings %d: want -symbols (%d) to 10000", c.markets, c.symbols)
	case !(c.ramp >= 1):
		return fmt.Errorf("-ramp %v: want at least 1 client/s", c.ramp)
	case c.warmup < 0 || c.tail < 0:
		return fmt.Errorf("-warmup %s and -tail %s must not be negative", c.warmup, c.tail)
	case c.duration < time.Second || c.duration > 24*time.Hour:
		return fmt.Errorf("-duration %s: want 1s to 24h", c.duration)
	case c.edgeBin == "" && c.redisAddr == "":
		return errors.New("-redis-addr is empty, so edgebench would start a redis-server " +
			"that an edge started elsewhere does not read: give the edge's -redis-addr, " +
			"or -edge-bin to start the edge here")
	}
	return nil
}

// checkURL rejects a URL that is not absolute with one of the schemes.
func checkURL(name, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %q: %w", name, raw, err)
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%s %q: want %s://host[:port]/path", name, raw, strings.Join(schemes, ":// or "))
}

func main() {
	cfg, err := parse(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "edgebench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "edgebench: %v\n", err)
		os.Exit(1)
	}
	if cfg.check && !rep.met() {
		fmt.Fprintln(os.Stderr, "edgebench: the edge missed a target (see above)")
		os.Exit(1)
	}
}

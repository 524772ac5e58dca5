// Command loadtest drives the whole pipeline through its real ingest path,
// as a market open would, and measures what thousands of WebSocket clients
// receive: end-to-end latency (from ingest reading a tick to a client
// reading its event), throughput, and every event lost or delivered twice.
//
// It starts an ingest process of its own whose synthetic feed follows a
// profile: steady, a market-open burst, or a ramp of steady steps that finds
// the highest rate the pipeline sustains. Ingest stamps each tick with the
// time it read it, which the events carry to the clients. The clients
// subscribe with realistic watchlists and filters; a share of them read
// slowly, and a share disconnect now and then and resume with resume_from.
//
// Afterwards it reads the ticks back from Kafka and scores them as the
// scorer does (the engine is deterministic), so it knows every event the
// streams received and, with each client's filter, every event each client
// had to receive; it compares that with what each client did receive.
//
// By default it starts the local stack of `make run` itself: kfake in a
// child process, a private redis-server, the scorer and the edge from -bin.
// With -url it measures a deployment instead, given by its addresses. It
// talks only to those addresses (loopback by default) and stops by itself.
// It prints a one-screen summary and writes result.json and report.html
// (self-contained) into -out.
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

// The profiles of the tick rate.
const (
	profileSteady = "steady"
	profileBurst  = "burst"
	profileRamp   = "ramp"
)

// config is the run's settings, as the flags give them.
type config struct {
	// Where: the embedded stack from bin, or a deployment at url.
	bin         string
	url         string
	brokers     string
	topic       string
	metrics     string // name=url,... of a deployment's services
	redisAddr   string // a deployment's Redis, for its CPU and memory; optional
	scorerGroup string
	shards      int

	// The feed.
	profile     string
	rate        float64
	duration    time.Duration
	burstFactor float64
	burstFor    time.Duration
	rampStart   float64
	rampStep    float64
	rampMax     float64
	rampHold    time.Duration
	rampLimit   time.Duration
	underlyings int
	seed        int64

	// The clients.
	clients     int
	symbols     int
	skew        float64
	slowShare   float64
	slowDelay   time.Duration
	resumeShare float64
	resumeEvery time.Duration
	resumePause time.Duration
	connectRate float64

	// Judging and output.
	tail    time.Duration
	gateP99 time.Duration
	aimP50  time.Duration
	aimP99  time.Duration
	check   bool
	out     string
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", "bin", "directory of the ingest, scorer and edge binaries (`make build`)")
	fs.StringVar(&c.url, "url", "", "WebSocket URL of a deployment's edge; empty starts the local stack of `make run`")
	fs.StringVar(&c.brokers, "kafka-brokers", "127.0.0.1:9092", "with -url: the deployment's Kafka seed brokers")
	fs.StringVar(&c.topic, "ticks-topic", "options.ticks", "with -url: the deployment's ticks topic")
	fs.StringVar(&c.metrics, "metrics", "", "with -url: name=URL,... of the services' /metrics, "+
		"e.g. edge=http://127.0.0.1:8080/metrics,scorer=http://127.0.0.1:9102/metrics")
	fs.StringVar(&c.redisAddr, "redis-addr", "", "with -url: the deployment's Redis, for its CPU and memory (optional)")
	fs.StringVar(&c.scorerGroup, "scorer-group", "liveflow-scorer", "the scorers' consumer group, to know when they caught up")
	fs.IntVar(&c.shards, "shards", 16, "shard streams, as the scorers and edges have them (read to check the scorer's output)")

	fs.StringVar(&c.profile, "profile", profileBurst, "tick rate profile: steady, burst (a market-open burst at the start) or ramp")
	fs.Float64Var(&c.rate, "rate", 10_000, "steady and burst: ticks per second")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "steady and burst: how long ingest sends")
	fs.Float64Var(&c.burstFactor, "burst-factor", 2, "burst: rate multiplier during the burst")
	fs.DurationVar(&c.burstFor, "burst-duration", 10*time.Second, "burst: length of the burst at the start")
	fs.Float64Var(&c.rampStart, "ramp-start", 5_000, "ramp: ticks per second of the first step")
	fs.Float64Var(&c.rampStep, "ramp-step", 5_000, "ramp: ticks per second added at each step")
	fs.Float64Var(&c.rampMax, "ramp-max", 100_000, "ramp: the last step's rate at most")
	fs.DurationVar(&c.rampHold, "ramp-hold", 15*time.Second, "ramp: length of each step")
	fs.DurationVar(&c.rampLimit, "ramp-p99", 50*time.Millisecond, "ramp: a step is sustained while its p99 stays under this")
	fs.IntVar(&c.underlyings, "underlyings", 300, "underlyings of the synthetic market")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the synthetic market and of the clients")

	fs.IntVar(&c.clients, "clients", 2_000, "WebSocket clients")
	fs.IntVar(&c.symbols, "symbols", 20, "underlyings in each client's watchlist")
	fs.Float64Var(&c.skew, "watch-skew", 0.5, "watchlists draw an underlying with weight (its events)^skew: "+
		"1 in proportion to activity, 0 uniformly")
	fs.Float64Var(&c.slowShare, "slow-share", 0.05, "share of clients that read slowly")
	fs.DurationVar(&c.slowDelay, "slow-delay", 20*time.Millisecond, "how long a slow client pauses after each frame")
	fs.Float64Var(&c.resumeShare, "resume-share", 0.05, "share of clients that disconnect now and then and resume")
	fs.DurationVar(&c.resumeEvery, "resume-every", 15*time.Second, "how often a resuming client disconnects, on average")
	fs.DurationVar(&c.resumePause, "resume-pause", 500*time.Millisecond, "how long a resuming client stays away")
	fs.Float64Var(&c.connectRate, "connect-rate", 1_000, "clients connected per second at most")

	fs.DurationVar(&c.tail, "tail", 60*time.Second, "after ingest stops, how long events may take to arrive at most")
	fs.DurationVar(&c.gateP99, "gate-p99", 25*time.Millisecond, "-check fails when the steady clients' p99 is not under this")
	fs.DurationVar(&c.aimP50, "aim-p50", 3*time.Millisecond, "the p50 the summary says whether it met")
	fs.DurationVar(&c.aimP99, "aim-p99", 10*time.Millisecond, "the p99 the summary says whether it met")
	fs.BoolVar(&c.check, "check", false, "exit with status 1 unless the gate holds: every client subscribed, "+
		"no event lost or duplicated, no resume gap, p99 under -gate-p99")
	fs.StringVar(&c.out, "out", ".cache/loadtest", "directory for result.json, report.html and the services' log")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if c.url == "" {
		for _, name := range []string{"kafka-brokers", "ticks-topic", "metrics", "redis-addr"} {
			if explicit[name] {
				return c, fmt.Errorf("-%s describes a deployment: give its edge with -url too, "+
					"or leave it out to start the local stack", name)
			}
		}
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if c.url != "" {
		if err := checkURL("-url", c.url, "ws", "wss"); err != nil {
			return err
		}
		if c.brokers == "" || c.topic == "" {
			return errors.New("-url needs -kafka-brokers and -ticks-topic: the ticks are read back to account for every event")
		}
		if _, err := parseMetrics(c.metrics); err != nil {
			return err
		}
	}
	if err := c.validateFeed(); err != nil {
		return err
	}
	return c.validateClients()
}

func (c *config) validateFeed() error {
	switch c.profile {
	case profileSteady, profileBurst:
		switch {
		case !(c.rate > 0 && c.rate <= 1_000_000):
			return fmt.Errorf("-rate %v: want more than 0 and at most 1000000 ticks/s", c.rate)
		case c.duration < time.Second || c.duration > 24*time.Hour:
			return fmt.Errorf("-duration %s: want 1s to 24h", c.duration)
		case c.profile == profileBurst && !(c.burstFactor >= 1 && c.burstFactor <= 100):
			return fmt.Errorf("-burst-factor %v: want 1 to 100", c.burstFactor)
		case c.profile == profileBurst && (c.burstFor <= 0 || c.burstFor > c.duration):
			return fmt.Errorf("-burst-duration %s: want more than 0 and at most -duration %s", c.burstFor, c.duration)
		}
	case profileRamp:
		switch {
		case !(c.rampStart > 0 && c.rampStep > 0 && c.rampMax >= c.rampStart && c.rampMax <= 1_000_000):
			return fmt.Errorf("-ramp-start %v, -ramp-step %v, -ramp-max %v: want positive rates, "+
				"the maximum at least the start and at most 1000000", c.rampStart, c.rampStep, c.rampMax)
		case c.rampHold < time.Second:
			return fmt.Errorf("-ramp-hold %s: want at least 1s", c.rampHold)
		case c.rampLimit <= 0:
			return fmt.Errorf("-ramp-p99 %s: want a positive latency", c.rampLimit)
		}
	default:
		return fmt.Errorf("-profile %q: want steady, burst or ramp", c.profile)
	}
	switch {
	case c.shards < 1 || c.shards > 1024:
		return fmt.Errorf("-shards %d: want 1 to 1024, as the services", c.shards)
	case c.underlyings < 1 || c.underlyings > 10_000:
		return fmt.Errorf("-underlyings %d: want 1 to 10000", c.underlyings)
	case c.tail < time.Second:
		return fmt.Errorf("-tail %s: want at least 1s", c.tail)
	case c.out == "":
		return errors.New("-out is empty")
	}
	return nil
}

func (c *config) validateClients() error {
	switch {
	case c.clients < 1 || c.clients > 100_000:
		return fmt.Errorf("-clients %d: want 1 to 100000", c.clients)
	case c.symbols < 1 || c.symbols > c.underlyings || c.symbols > 1000:
		return fmt.Errorf("-symbols %d: want 1 to -underlyings (%d) and the protocol's 1000", c.symbols, c.underlyings)
	case !(c.skew >= 0 && c.skew <= 4):
		return fmt.Errorf("-watch-skew %v: want 0 to 4", c.skew)
	case !(c.slowShare >= 0 && c.resumeShare >= 0 && c.slowShare+c.resumeShare <= 1):
		return fmt.Errorf("-slow-share %v and -resume-share %v: want shares that add up to at most 1",
			c.slowShare, c.resumeShare)
	case c.slowDelay < 0 || c.slowDelay > 10*time.Second:
		return fmt.Errorf("-slow-delay %s: want 0 to 10s", c.slowDelay)
	case c.resumeEvery < 100*time.Millisecond:
		return fmt.Errorf("-resume-every %s: want at least 100ms", c.resumeEvery)
	case c.resumePause < 0 || c.resumePause > time.Minute:
		return fmt.Errorf("-resume-pause %s: want 0 to 1m", c.resumePause)
	case !(c.connectRate >= 1):
		return fmt.Errorf("-connect-rate %v: want at least 1 client/s", c.connectRate)
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

// parseMetrics reads -metrics: name=URL pairs, comma-separated.
func parseMetrics(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, u, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-metrics %q: want name=URL pairs, comma-separated", s)
		}
		if err := checkURL("-metrics "+name, u, "http", "https"); err != nil {
			return nil, err
		}
		out[name] = u
	}
	return out, nil
}

func main() {
	cfg, err := parse(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(1)
	}
	if cfg.check && !res.Gate.Passed {
		fmt.Fprintln(os.Stderr, "loadtest: the gate failed (see above)")
		os.Exit(1)
	}
}

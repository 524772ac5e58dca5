// Command ingest reads ticks from a feed adapter and produces them,
// Avro-encoded, to the Kafka ticks topic keyed by underlying.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/liveflow/liveflow/pkg/redisconn"
	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/topics"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
	"github.com/liveflow/liveflow/services/ingest/internal/ingest"
	"github.com/liveflow/liveflow/services/ingest/internal/oi"
	"github.com/liveflow/liveflow/services/ingest/internal/polygon"
	"github.com/liveflow/liveflow/services/ingest/internal/secret"
	"github.com/liveflow/liveflow/services/ingest/internal/status"
)

// keyEnv holds the vendor key. It is read from the environment only, never
// from a flag, so the key does not show in the process list.
const keyEnv = svc.EnvPrefix + "_VENDOR_KEY"

type config struct {
	brokers     string
	topic       string
	partitions  int
	feed        string
	rate        float64
	burstFactor float64
	burstFor    time.Duration
	underlyings int
	seed        int64
	replaySpeed float64
	linger      time.Duration
	tripAfter   uint
	coolDown    time.Duration
	opsAddr     string
	secondary   string
	keyFile     string
	subscribe   string
	stall       time.Duration
	handshake   time.Duration
	gapCheck    bool
	gapHold     time.Duration
	oiSnapshot  string
	oiReloadAt  string
	redisAddr   string
	redisMode   string
	statusKey   string
	statusTTL   time.Duration
	svc.Common

	spec, secondarySpec feed.Spec
	key                 secret.String
	params              []string
	oiSources           []string
	oiAt                oi.At
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.StringVar(&c.brokers, "kafka-brokers", "127.0.0.1:9092", "Kafka seed brokers, comma-separated host:port")
	fs.StringVar(&c.topic, "ticks-topic", topics.Ticks, "topic to produce ticks to")
	fs.IntVar(&c.partitions, "partitions", topics.DefaultPartitions, "partitions of the ticks topic when ingest creates it")
	fs.StringVar(&c.feed, "feed", "synthetic", "feed adapter: synthetic, file:PATH to replay an NDJSON "+
		"tape, or polygon:wss://HOST/PATH for the vendor's options WebSocket")
	c.registerVendor(fs)
	fs.Float64Var(&c.rate, "rate", 2000, "synthetic feed: ticks per second")
	fs.Float64Var(&c.burstFactor, "burst-factor", 1, "synthetic feed: rate multiplier for the market-open burst (1 means none)")
	fs.DurationVar(&c.burstFor, "burst-duration", 10*time.Second, "synthetic feed: length of the burst at start")
	fs.IntVar(&c.underlyings, "underlyings", 300, "synthetic feed: number of underlyings")
	fs.Int64Var(&c.seed, "seed", 1, "synthetic feed: random seed; the same seed gives the same market")
	fs.Float64Var(&c.replaySpeed, "replay-speed", 1, "file feed: pace multiplier; 0 replays as fast as possible")
	fs.DurationVar(&c.linger, "linger", time.Millisecond, "how long the producer waits to fill a batch; 0 sends at once")
	fs.UintVar(&c.tripAfter, "breaker-failures", 5, "consecutive feed failures that open the circuit breaker")
	fs.DurationVar(&c.coolDown, "breaker-cooldown", 30*time.Second, "how long an open breaker holds off the feed")
	fs.StringVar(&c.opsAddr, "ops-addr", ":9101", "address of /healthz, /readyz and /metrics")
	c.Common.Register(fs, "ops address")
	if err := svc.Parse(fs, args); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c *config) validate() error {
	var err error
	if c.spec, err = feed.ParseSpec(c.feed); err != nil {
		return err
	}
	if err := c.validateVendor(); err != nil {
		return err
	}
	switch {
	case c.topic == "":
		return errors.New("-ticks-topic is empty")
	case c.partitions < 1:
		return fmt.Errorf("-partitions %d: want at least 1", c.partitions)
	case c.rate <= 0:
		return fmt.Errorf("-rate %v: want a positive number of ticks per second", c.rate)
	case c.burstFactor < 1:
		return fmt.Errorf("-burst-factor %v: want 1 or more", c.burstFactor)
	case c.replaySpeed < 0:
		return fmt.Errorf("-replay-speed %v: want 0 (as fast as possible) or more", c.replaySpeed)
	case c.linger < 0:
		return fmt.Errorf("-linger %s is negative", c.linger)
	case c.tripAfter < 1:
		return errors.New("-breaker-failures: want at least 1")
	}
	if err := (synth.Config{Underlyings: c.underlyings, Seed: c.seed}).Validate(); err != nil {
		return err
	}
	_, err = topics.SplitBrokers(c.brokers)
	return err
}

// registerVendor adds the settings of the failover feed, the vendor, open
// interest and the status.
func (c *config) registerVendor(fs *flag.FlagSet) {
	fs.StringVar(&c.secondary, "feed-secondary", "", "failover feed, file:PATH or polygon:URL, "+
		"started when the primary's circuit breaker opens; empty: none")
	fs.StringVar(&c.keyFile, "vendor-key-file", "", "file holding the vendor key (or set "+keyEnv+
		"); needed by polygon feeds, sent to snapshot URLs")
	fs.StringVar(&c.subscribe, "vendor-subscribe", polygon.All, "polygon feeds: what to follow, "+
		"comma-separated: * (every contract), underlyings (SPY) or option symbols")
	fs.DurationVar(&c.stall, "vendor-stall", 30*time.Second, "polygon feeds: silence during market "+
		"hours (09:30-16:00 New York, weekdays) after which the connection is renewed; 0 turns it off")
	fs.DurationVar(&c.handshake, "vendor-handshake-timeout", 10*time.Second,
		"polygon feeds: time to connect, authenticate and subscribe")
	fs.BoolVar(&c.gapCheck, "vendor-gap-check", true,
		"polygon feeds: report skipped per-contract sequence numbers as gaps")
	fs.DurationVar(&c.gapHold, "gap-hold", time.Minute, "how long a sequence gap keeps the feed status degraded")
	fs.StringVar(&c.oiSnapshot, "oi-snapshot", "", "open-interest snapshots in the vendor's chain shape, "+
		"comma-separated files or http(s) URLs; empty: none")
	fs.StringVar(&c.oiReloadAt, "oi-reload-at", "09:00", "New York time of the weekday reload of open interest")
	fs.StringVar(&c.redisAddr, "redis-addr", "", "Redis host:port (or a cluster's seed nodes, "+
		"comma-separated) to publish the feed status to; empty: not published")
	fs.StringVar(&c.redisMode, "redis-mode", "auto",
		"auto (a cluster when -redis-addr lists several nodes), single or cluster")
	fs.StringVar(&c.statusKey, "status-key", status.DefaultKey, "Redis hash of the feed status")
	fs.DurationVar(&c.statusTTL, "status-ttl", 15*time.Second,
		"expiry of the status hash, refreshed every third of it, so a dead ingest reads as unknown")
}

// validateVendor checks the settings of the failover feed, the vendor,
// open interest and the status.
func (c *config) validateVendor() error {
	var err error
	if c.secondary != "" {
		if c.secondarySpec, err = feed.ParseSpec(c.secondary); err != nil {
			return fmt.Errorf("-feed-secondary: %w", err)
		}
		switch {
		case c.secondarySpec.Kind == feed.KindSynthetic:
			return errors.New("-feed-secondary synthetic would mix made-up ticks into a real feed; " +
				"give file:PATH or polygon:URL")
		case c.secondary == c.feed:
			return errors.New("-feed-secondary is the primary feed itself")
		}
	}
	if c.key, err = secret.Load(keyEnv, c.keyFile); err != nil {
		return fmt.Errorf("vendor key: %w", err)
	}
	vendor := c.spec.Kind == feed.KindPolygon || c.secondarySpec.Kind == feed.KindPolygon
	if vendor && c.key.IsZero() {
		return fmt.Errorf("a polygon feed needs the vendor key: set %s or -vendor-key-file", keyEnv)
	}
	if c.params, err = polygon.Params(strings.Split(c.subscribe, ",")); err != nil {
		return fmt.Errorf("-vendor-subscribe: %w", err)
	}
	switch {
	case c.stall < 0:
		return fmt.Errorf("-vendor-stall %s is negative", c.stall)
	case c.handshake <= 0:
		return fmt.Errorf("-vendor-handshake-timeout %s: want a positive time", c.handshake)
	case c.gapHold < 0:
		return fmt.Errorf("-gap-hold %s is negative", c.gapHold)
	case c.statusTTL < 30*time.Millisecond:
		return fmt.Errorf("-status-ttl %s: want 30ms or more", c.statusTTL)
	case c.redisAddr != "" && c.statusKey == "":
		return errors.New("-status-key is empty")
	}
	if c.redisAddr != "" {
		if err := redisconn.Check(c.redisAddr, redisconn.Mode(c.redisMode)); err != nil {
			return fmt.Errorf("-redis-addr %q, -redis-mode %q: %w", c.redisAddr, c.redisMode, err)
		}
	}
	if c.oiAt, err = oi.ParseAt(c.oiReloadAt); err != nil {
		return fmt.Errorf("-oi-reload-at: %w", err)
	}
	for _, s := range strings.Split(c.oiSnapshot, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.oiSources = append(c.oiSources, s)
		}
	}
	return nil
}

func main() {
	var cfg config
	svc.Main("ingest", func(args []string) (svc.Common, error) {
		var err error
		cfg, err = parse(args)
		return cfg.Common, err
	}, func(ctx context.Context, log *zap.Logger) error { return run(ctx, cfg, log) })
}

func run(ctx context.Context, cfg config, log *zap.Logger) error {
	brokers, _ := topics.SplitBrokers(cfg.brokers)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ClientID("liveflow-ingest"),
		kgo.DefaultProduceTopic(cfg.topic),
		kgo.ProducerLinger(cfg.linger),
		kgo.AllowAutoTopicCreation(),
	)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	if err := ensureTopic(ctx, log, cl, cfg.topic, int32(cfg.partitions)); err != nil {
		return err
	}

	ops := svc.NewOps()
	if cfg.Pprof {
		ops.EnableProfiling()
	}
	metrics := ingest.NewMetrics(ops.Registry)
	ops.AddCheck("kafka", func(ctx context.Context) error { return cl.Ping(ctx) })
	addr, served, err := svc.Serve(ctx, cfg.opsAddr, ops.Mux())
	if err != nil {
		return fmt.Errorf("ops endpoint: %w", err)
	}
	// Buffered ticks outlive ctx so they can be flushed at shutdown; a Kafka
	// that stays away past the grace period fails them instead of hanging.
	const grace = 10 * time.Second
	life, endLife := context.WithCancel(context.Background())
	defer endLife()
	context.AfterFunc(ctx, func() { time.AfterFunc(grace, endLife) })
	pipe, err := ingest.NewPipeline(life, cl, cfg.topic, metrics, log.Sugar())
	if err != nil {
		return err
	}
	board := status.NewBoard(nil)
	feeds := ingest.Feeds{Sink: pipe, Metrics: metrics, Log: log.Sugar(), Board: board,
		TripAfter: uint32(cfg.tripAfter), CoolDown: cfg.coolDown}
	events := feedEvents(cfg, ingest.Primary, cfg.feed, metrics, log, board)
	if feeds.Primary, err = newSource(cfg, cfg.spec, events); err != nil {
		return err
	}
	if cfg.secondary != "" {
		events = feedEvents(cfg, ingest.Secondary, cfg.secondary, metrics, log, board)
		if feeds.Secondary, err = newSource(cfg, cfg.secondarySpec, events); err != nil {
			return err
		}
	}

	// The status publisher and the open-interest loads run beside the
	// feeds and stop after them.
	var rdb redis.UniversalClient
	if cfg.redisAddr != "" {
		if rdb, err = redisconn.New(cfg.redisAddr, redisconn.Options{Mode: redisconn.Mode(cfg.redisMode)}); err != nil {
			return fmt.Errorf("-redis-addr: %w", err)
		}
		defer rdb.Close()
	}
	bg, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Go(func() { publishStatus(bg, cfg, board, rdb, metrics, log) })
	defer func() {
		stopBackground()
		background.Wait()
	}()
	if len(cfg.oiSources) > 0 {
		background.Go(func() { loadOpenInterest(bg, cfg, pipe, metrics, log) })
	}

	log.Info("ingest started", zap.String("feed", feeds.Primary.Name()), zap.String("secondary", cfg.secondary),
		zap.Strings("brokers", brokers), zap.String("topic", cfg.topic), zap.Stringer("ops", addr),
		zap.String("status_redis", cfg.redisAddr))
	if err := ingest.RunFeeds(ctx, feeds); err != nil {
		return err
	}
	// A finished tape leaves the service up, serving metrics, until stopped.
	<-ctx.Done()

	if err := cl.Flush(life); err != nil {
		log.Warn("some ticks were not flushed to Kafka before exit", zap.Error(err))
	}
	return <-served
}

func newSource(cfg config, spec feed.Spec, events polygon.Events) (feed.Source, error) {
	switch spec.Kind {
	case feed.KindFile:
		return feed.NewFile(spec.Path, cfg.replaySpeed)
	case feed.KindPolygon:
		return polygon.New(polygon.Config{URL: spec.URL, Key: cfg.key, Params: cfg.params,
			Handshake: cfg.handshake, StallAfter: cfg.stall, CheckGaps: cfg.gapCheck, Events: events})
	}
	return feed.NewSynthetic(feed.SyntheticConfig{
		Generator:   synth.Config{Underlyings: cfg.underlyings, Seed: cfg.seed},
		Rate:        cfg.rate,
		BurstFactor: cfg.burstFactor,
		BurstFor:    cfg.burstFor,
	})
}

// feedEvents reports what a vendor feed notices to metrics, the log and
// the status board.
func feedEvents(cfg config, role, name string, m *ingest.Metrics, log *zap.Logger,
	board *status.Board) *ingest.FeedEvents {
	return &ingest.FeedEvents{Role: role, Name: name, Metrics: m, Log: log.Sugar(), Board: board,
		GapHold: cfg.gapHold, Limiter: svc.NewLogLimiter(time.Second, 10)}
}

// publishStatus logs every change of the feed status, keeps the degraded
// gauge, and writes the status to Redis when rdb is set.
func publishStatus(ctx context.Context, cfg config, board *status.Board, rdb redis.UniversalClient,
	m *ingest.Metrics, log *zap.Logger) {
	p := &status.Publisher{Board: board, Key: cfg.statusKey, TTL: cfg.statusTTL, Log: log.Sugar(),
		OnError: func(error) { m.StatusErrors.Inc() },
		OnChange: func(s status.Snapshot) {
			fields := []zap.Field{zap.String("state", s.State), zap.String("reason", s.Reason),
				zap.String("detail", s.Detail), zap.String("feed", s.Feed)}
			if s.State == status.Degraded {
				m.Degraded.Set(1)
				log.Warn("feed status: degraded", fields...)
				return
			}
			m.Degraded.Set(0)
			log.Info("feed status: ok", fields...)
		}}
	p.Redis = rdb
	_ = p.Run(ctx)
}

// loadOpenInterest publishes the snapshots' open interest at start and
// every weekday before the open.
func loadOpenInterest(ctx context.Context, cfg config, sink feed.Sink, m *ingest.Metrics, log *zap.Logger) {
	loader := &oi.Loader{Sources: cfg.oiSources, Key: cfg.key}
	oi.Schedule(ctx, cfg.oiAt, nil, nil, func(ctx context.Context) error {
		n, err := loader.Load(ctx, sink)
		if err != nil {
			if ctx.Err() == nil {
				m.OILoads.WithLabelValues("error").Inc()
				log.Warn("open interest not fully loaded; retrying (is -oi-snapshot right?)",
					zap.Int("ticks", n), zap.Error(err))
			}
			return err
		}
		m.OILoads.WithLabelValues("ok").Inc()
		log.Info("open interest loaded", zap.Int("ticks", n), zap.Int("sources", len(cfg.oiSources)))
		return nil
	})
}

// ensureTopic creates the ticks topic when missing, retrying while the
// brokers come up, and warns when an existing topic has another partition
// count than configured.
func ensureTopic(ctx context.Context, log *zap.Logger, cl *kgo.Client, topic string, partitions int32) error {
	have, err := topics.EnsureRetry(ctx, kadm.NewClient(cl), topic, partitions, nil, func(err error) {
		log.Warn("cannot reach Kafka to check the ticks topic; retrying (is -kafka-brokers right?)", zap.Error(err))
	})
	if err == nil && have != partitions {
		log.Warn("ticks topic exists with another partition count; keeping it",
			zap.String("topic", topic), zap.Int32("partitions", have), zap.Int32("configured", partitions))
	}
	return err
}

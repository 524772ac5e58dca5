// Command ingest reads ticks from a feed adapter and produces them,
// Avro-encoded, to the Kafka ticks topic keyed by underlying.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/topics"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
	"github.com/liveflow/liveflow/services/ingest/internal/ingest"
)

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
	svc.Common

	spec feed.Spec
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.StringVar(&c.brokers, "kafka-brokers", "127.0.0.1:9092", "Kafka seed brokers, comma-separated host:port")
	fs.StringVar(&c.topic, "ticks-topic", topics.Ticks, "topic to produce ticks to")
	fs.IntVar(&c.partitions, "partitions", topics.DefaultPartitions, "partitions of the ticks topic when ingest creates it")
	fs.StringVar(&c.feed, "feed", "synthetic", "feed adapter: synthetic, or file:PATH to replay an NDJSON tape")
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

func main() {
	var cfg config
	svc.Main("ingest", func(args []string) (svc.Common, error) {
		var err error
		cfg, err = parse(args)
		return cfg.Common, err
	}, func(ctx context.Context, log *zap.Logger) error { return run(ctx, cfg, log) })
}

func run(ctx context.Context, cfg config, log *zap.Logger) error {
	src, err := newSource(cfg)
	if err != nil {
		return err
	}
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

	log.Info("ingest started", zap.String("feed", src.Name()), zap.Strings("brokers", brokers),
		zap.String("topic", cfg.topic), zap.Stringer("ops", addr))
	if err := ingest.RunFeed(ctx, src, pipe, metrics, log.Sugar(), uint32(cfg.tripAfter), cfg.coolDown); err != nil {
		return err
	}
	// A finished tape leaves the service up, serving metrics, until stopped.
	<-ctx.Done()

	if err := cl.Flush(life); err != nil {
		log.Warn("some ticks were not flushed to Kafka before exit", zap.Error(err))
	}
	return <-served
}

func newSource(cfg config) (feed.Source, error) {
	if cfg.spec.Kind == "file" {
		return feed.NewFile(cfg.spec.Path, cfg.replaySpeed)
	}
	return feed.NewSynthetic(feed.SyntheticConfig{
		Generator:   synth.Config{Underlyings: cfg.underlyings, Seed: cfg.seed},
		Rate:        cfg.rate,
		BurstFactor: cfg.burstFactor,
		BurstFor:    cfg.burstFor,
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

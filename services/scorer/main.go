// Command scorer consumes ticks from Kafka, scores them and writes the scored
// events to the Redis shard streams that edges read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/pkg/redisconn"
	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/topics"
	"github.com/liveflow/liveflow/services/scorer/internal/scorer"
)

type config struct {
	brokers    string
	topic      string
	partitions int
	group      string
	redisAddr  string
	redisMode  string
	shards     int
	maxLen     int64
	ttl        time.Duration
	notify     bool
	scoring    score.Config
	stateTopic string
	flowTopic  string
	flowKeep   time.Duration
	dlqTopic   string
	registry   string
	checkpoint time.Duration
	session    time.Duration
	opsAddr    string
	svc.Common
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("scorer", flag.ContinueOnError)
	fs.StringVar(&c.brokers, "kafka-brokers", "127.0.0.1:9092", "Kafka seed brokers, comma-separated host:port")
	fs.StringVar(&c.topic, "ticks-topic", topics.Ticks, "topic to consume ticks from")
	fs.IntVar(&c.partitions, "partitions", topics.DefaultPartitions, "partitions of the ticks topic when the scorer creates it")
	fs.StringVar(&c.group, "group", "liveflow-scorer", "Kafka consumer group shared by all scorers")
	fs.StringVar(&c.redisAddr, "redis-addr", "127.0.0.1:6379", "Redis host:port, or comma-separated seed nodes of a Redis Cluster")
	fs.StringVar(&c.redisMode, "redis-mode", "auto", "auto (a cluster when -redis-addr lists several nodes), single or cluster")
	fs.IntVar(&c.shards, "shards", stream.DefaultShards, "number of Redis shard streams; must match the edges")
	fs.Int64Var(&c.maxLen, "stream-maxlen", 100_000, "approximate entries kept per shard stream")
	fs.DurationVar(&c.ttl, "stream-ttl", 24*time.Hour, "a shard stream idle this long expires")
	fs.BoolVar(&c.notify, "stream-notify", false, "also announce each append on the shard's Pub/Sub channel flow:{n.k}:live, for edges run with -fanout pubsub")
	fs.StringVar(&c.stateTopic, "state-topic", topics.ScorerState, "compacted topic for checkpoints of the scoring state; empty turns them off")
	fs.StringVar(&c.flowTopic, "flow-topic", topics.Flow, "topic that receives every scored event as an Avro record keyed by underlying; empty turns it off")
	fs.DurationVar(&c.flowKeep, "flow-retention", topics.DefaultFlowRetention, "retention of the flow topic when the scorer creates it")
	fs.StringVar(&c.dlqTopic, "dlq-topic", topics.TicksDLQ, "dead-letter topic for ticks records the scorer cannot use, with the reason in a header; empty keeps none")
	fs.StringVar(&c.registry, "schema-registry", "", "URL of a Confluent-compatible schema registry; when set, flow records carry its schema id instead of the single-object header")
	fs.DurationVar(&c.session, "session-timeout", 10*time.Second, "a scorer silent this long loses its partitions to the others")
	fs.DurationVar(&c.checkpoint, "checkpoint-interval", 5*time.Second, "how often changed scoring state is saved")
	scoringFlags(fs, &c.scoring)
	fs.StringVar(&c.opsAddr, "ops-addr", ":9102", "address of /healthz, /readyz and /metrics")
	c.Common.Register(fs, "ops address")
	if err := svc.Parse(fs, args); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.topic == "":
		return errors.New("-ticks-topic is empty")
	case c.group == "":
		return errors.New("-group is empty")
	case c.partitions < 1:
		return fmt.Errorf("-partitions %d: want at least 1", c.partitions)
	case c.shards < 1 || c.shards > 1024:
		return fmt.Errorf("-shards %d: want 1 to 1024", c.shards)
	case c.redisAddr == "":
		return errors.New("-redis-addr is empty")
	case c.session < time.Second:
		return fmt.Errorf("-session-timeout %s: want at least 1s", c.session)
	case c.checkpoint < 100*time.Millisecond:
		return fmt.Errorf("-checkpoint-interval %s: want at least 100ms", c.checkpoint)
	case c.flowTopic != "" && c.flowTopic == c.topic:
		return fmt.Errorf("-flow-topic %q is the ticks topic", c.flowTopic)
	case c.dlqTopic != "" && (c.dlqTopic == c.topic || c.dlqTopic == c.flowTopic || c.dlqTopic == c.stateTopic):
		return fmt.Errorf("-dlq-topic %q is another topic of the scorer", c.dlqTopic)
	case c.flowKeep < time.Minute:
		return fmt.Errorf("-flow-retention %s: want at least 1m", c.flowKeep)
	}
	if err := redisconn.Check(c.redisAddr, redisconn.Mode(c.redisMode)); err != nil {
		return fmt.Errorf("-redis-addr %q, -redis-mode %q: %w", c.redisAddr, c.redisMode, err)
	}
	if c.registry != "" {
		if u, err := url.Parse(c.registry); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-schema-registry %q: want an http:// or https:// URL", c.registry)
		}
	}
	if err := c.scoring.Validate(); err != nil {
		return err
	}
	_, err := topics.SplitBrokers(c.brokers)
	return err
}

// scoringFlags registers the engine's thresholds and weights, with the
// published defaults (docs/scoring.md).
func scoringFlags(fs *flag.FlagSet, c *score.Config) {
	*c = score.Defaults()
	fs.Int64Var(&c.BlockSize, "block-size", c.BlockSize, "contracts at or above which a print is a block")
	fs.Float64Var(&c.BlockPremium, "block-premium", c.BlockPremium, "premium in USD at or above which a print is a block")
	fs.DurationVar(&c.SweepWindow, "sweep-window", c.SweepWindow, "fills of one contract and side within this time of the first form one order")
	fs.Float64Var(&c.GoldenPremium, "golden-premium", c.GoldenPremium, "premium in USD from which a sweep can be golden")
	fs.Float64Var(&c.NearMoneyPct, "near-money-pct", c.NearMoneyPct, "a golden sweep is at most this many percent from the money")
	fs.Float64Var(&c.UnusualSizeFactor, "unusual-size-factor", c.UnusualSizeFactor, "a print this many times the contract's average is unusual")
	fs.IntVar(&c.UnusualMinPrints, "unusual-min-prints", c.UnusualMinPrints, "prints of a contract before its average size counts")
	fs.IntVar(&c.RepeatedCount, "repeated-count", c.RepeatedCount, "aggressive orders in one contract that make repeated hits")
	fs.DurationVar(&c.RepeatedWindow, "repeated-window", c.RepeatedWindow, "time from the first order within which repeated hits count")
	fs.DurationVar(&c.SpreadWindow, "spread-window", c.SpreadWindow, "multi-leg prints of one underlying within this time form one spread")
	w := &c.Weights
	for _, x := range []struct {
		name string
		v    *int32
	}{
		{"premium", &w.Premium}, {"aggression", &w.Aggression}, {"volume-oi", &w.VolumeOI},
		{"dte", &w.DTE}, {"moneyness", &w.Moneyness}, {"sweep", &w.Sweep}, {"golden", &w.Golden},
		{"split", &w.Split}, {"block", &w.Block}, {"repeated", &w.Repeated}, {"unusual", &w.Unusual},
	} {
		fs.Func("weight-"+x.name, fmt.Sprintf("most points the %s part of the score gives; negative turns it off (default %d)",
			x.name, *x.v), func(s string) error {
			n, err := strconv.ParseInt(s, 10, 32)
			*x.v = int32(n)
			return err
		})
	}
}

func main() {
	var cfg config
	svc.Main("scorer", func(args []string) (svc.Common, error) {
		var err error
		cfg, err = parse(args)
		return cfg.Common, err
	}, func(ctx context.Context, log *zap.Logger) error { return run(ctx, cfg, log) })
}

func run(ctx context.Context, cfg config, log *zap.Logger) error {
	brokers, _ := topics.SplitBrokers(cfg.brokers)
	rdb, err := redisconn.New(cfg.redisAddr, redisconn.Options{Mode: redisconn.Mode(cfg.redisMode)})
	if err != nil {
		return fmt.Errorf("-redis-addr: %w", err)
	}
	defer rdb.Close()
	w, err := stream.NewWriter(rdb, stream.WriterConfig{
		Shards: cfg.shards, MaxLen: cfg.maxLen, TTL: cfg.ttl, Notify: cfg.notify,
	})
	if err != nil {
		return err
	}

	topicID, err := ensureTopics(ctx, log, brokers, cfg)
	if err != nil {
		return err
	}
	flowCodec, err := newFlowCodec(ctx, cfg)
	if err != nil {
		return err
	}

	ops := svc.NewOps()
	if cfg.Pprof {
		ops.EnableProfiling()
	}
	s, err := scorer.New(scorer.Config{
		Brokers: brokers, Topic: cfg.topic, TopicID: topicID, Group: cfg.group, ClientID: "liveflow-scorer",
		Scoring: cfg.scoring, StateTopic: cfg.stateTopic, CheckpointEvery: cfg.checkpoint,
		SessionTimeout: cfg.session, FlowTopic: cfg.flowTopic, FlowCodec: flowCodec,
		DeadLetterTopic: cfg.dlqTopic,
	}, w, log.Sugar(), scorer.NewMetrics(ops.Registry))
	if err != nil {
		return err
	}
	ops.AddCheck("kafka", s.Ping)
	ops.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	addr, served, err := svc.Serve(ctx, cfg.opsAddr, ops.Mux())
	if err != nil {
		return fmt.Errorf("ops endpoint: %w", err)
	}

	log.Info("scorer started", zap.Strings("brokers", brokers), zap.String("topic", cfg.topic),
		zap.String("group", cfg.group), zap.String("redis", cfg.redisAddr), zap.Int("shards", cfg.shards),
		zap.Bool("stream_notify", cfg.notify), zap.String("flow_topic", cfg.flowTopic),
		zap.String("dlq_topic", cfg.dlqTopic),
		zap.Bool("schema_registry", cfg.registry != ""), zap.Stringer("ops", addr))
	if err := s.Run(ctx); err != nil {
		return err
	}
	return <-served
}

// ensureTopics creates the ticks topic when missing, retrying while the
// brokers come up, so the scorer can start before ingest; then the state
// topic, compacted and with as many partitions as the ticks topic. It
// returns the ticks topic's ID.
func ensureTopics(ctx context.Context, log *zap.Logger, brokers []string, cfg config) (string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return "", err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	retry := func(err error) {
		log.Warn("cannot reach Kafka to check the topics; retrying (is -kafka-brokers right?)",
			zap.Strings("brokers", brokers), zap.Error(err))
	}
	have, err := topics.EnsureRetry(ctx, adm, cfg.topic, int32(cfg.partitions), nil, retry)
	if err != nil {
		return "", err
	}
	if cfg.stateTopic != "" {
		// Checkpoints are read by partition number: the state topic must be
		// compacted and partitioned like the ticks.
		if _, err := topics.EnsureSpecRetry(ctx, adm, topics.StateSpec(cfg.stateTopic, have, 16<<20), retry); err != nil {
			return "", err
		}
	}
	if cfg.flowTopic != "" {
		res, err := topics.EnsureSpecRetry(ctx, adm, topics.FlowSpec(cfg.flowTopic, have, cfg.flowKeep), retry)
		if err != nil {
			return "", err
		}
		for _, m := range res.Mismatches {
			log.Warn("flow topic differs from the documented settings; keeping it (see docs/kafka.md)",
				zap.String("topic", cfg.flowTopic), zap.String("setting", m.Setting),
				zap.String("have", m.Have), zap.String("want", m.Want))
		}
	}
	if cfg.dlqTopic != "" {
		// Dead letters keep their partition number.
		if _, err := topics.EnsureSpecRetry(ctx, adm,
			topics.DeadLetterSpec(cfg.dlqTopic, have, topics.DefaultDLQRetention), retry); err != nil {
			return "", err
		}
	}
	return topics.ID(ctx, adm, cfg.topic)
}

// newFlowCodec returns the flow records' codec: single-object encoding, or
// registry framing after registering the schema when a registry is
// configured.
func newFlowCodec(ctx context.Context, cfg config) (*flow.Codec, error) {
	codec, err := flow.NewCodec()
	if err != nil || cfg.registry == "" || cfg.flowTopic == "" {
		return codec, err
	}
	reg, err := record.NewRegistry(cfg.registry)
	if err != nil {
		return nil, err
	}
	if err := codec.UseRegistry(ctx, reg, record.Subject(cfg.flowTopic)); err != nil {
		return nil, fmt.Errorf("schema registry %s: %w", cfg.registry, err)
	}
	return codec, nil
}

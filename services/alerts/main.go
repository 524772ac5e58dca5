// Command alerts pushes flow alerts to webhooks, Slack and Discord. It reads
// the shard streams as a Redis consumer group shared by all its instances,
// matches each event against users' alert rules (the WebSocket filter
// language) and delivers the matches reliably. Users manage their rules
// through an authenticated HTTP API on the same address as /healthz,
// /readyz and /metrics.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/liveflow/liveflow/pkg/auth"
	"github.com/liveflow/liveflow/pkg/redisconn"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/services/alerts/internal/api"
	"github.com/liveflow/liveflow/services/alerts/internal/consume"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
	"github.com/liveflow/liveflow/services/alerts/internal/rules"
)

type config struct {
	httpAddr  string
	redisAddr string
	redisMode string
	consumer  consume.Config
	deliver   deliver.Config
	rates     struct{ webhook, slack, discord float64 }
	// breakerFailures becomes deliver.BreakerFailures once checked.
	breakerFailures uint
	maxRules        int
	auth            auth.Files
	svc.Common
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	fs.StringVar(&c.httpAddr, "http-addr", ":8090", "address of the rules API /v1/rules, /healthz, /readyz and /metrics")
	fs.StringVar(&c.redisAddr, "redis-addr", "127.0.0.1:6379", "Redis host:port, or comma-separated seed nodes of a Redis Cluster")
	fs.StringVar(&c.redisMode, "redis-mode", "auto", "auto (a cluster when -redis-addr lists several nodes), single or cluster")
	cc, dc := &c.consumer, &c.deliver
	fs.IntVar(&cc.Shards, "shards", stream.DefaultShards, "number of Redis shard streams; must match the scorers")
	fs.StringVar(&cc.Group, "consumer-group", "liveflow-alerts", "Redis consumer group shared by all alerts instances")
	fs.StringVar(&cc.Name, "consumer-name", "", "this instance's consumer name, unique among live instances (default: host, process id and a random suffix)")
	fs.DurationVar(&cc.ClaimIdle, "claim-idle", 30*time.Second, "an entry an instance has not touched for this long is taken over by another (a crashed instance's work)")
	fs.Int64Var(&cc.MaxDeliveries, "max-deliveries", 5, "an entry handed out this often without being acknowledged is dead-lettered as poison")
	fs.IntVar(&cc.MaxInFlight, "max-in-flight", 10000, "entries with alerts being delivered; reading pauses beyond")
	fs.StringVar(&cc.DeadLetter, "dead-letter-stream", "alerts:dead", "stream of entries and alerts given up, with the reason")
	fs.Int64Var(&cc.DeadLetterMaxLen, "dead-letter-maxlen", 100000, "approximate entries kept in the dead-letter stream")
	fs.DurationVar(&cc.ShutdownGrace, "shutdown-grace", 10*time.Second, "on shutdown, how long deliveries in flight may finish; the rest is left to other instances")
	fs.DurationVar(&dc.Timeout, "delivery-timeout", 10*time.Second, "how long one delivery attempt may take")
	fs.IntVar(&dc.MaxAttempts, "max-attempts", 8, "delivery attempts before an alert is dead-lettered")
	fs.DurationVar(&dc.BackoffBase, "backoff-base", 500*time.Millisecond, "pause after a failed attempt, doubled after each (with jitter)")
	fs.DurationVar(&dc.BackoffMax, "backoff-max", 30*time.Second, "longest pause between attempts")
	fs.DurationVar(&dc.MaxAge, "max-alert-age", 10*time.Minute, "an alert not delivered this long after its event was written is dead-lettered as expired")
	fs.IntVar(&dc.Queue, "destination-queue", 1000, "alerts waiting per destination; more are dead-lettered as backlog")
	fs.Float64Var(&c.rates.webhook, "webhook-rate", 10, "requests per second to one webhook URL")
	fs.Float64Var(&c.rates.slack, "slack-rate", 1, "requests per second to one Slack webhook URL")
	fs.Float64Var(&c.rates.discord, "discord-rate", 0.5, "requests per second to one Discord webhook URL")
	fs.IntVar(&dc.Burst, "destination-burst", 5, "requests one destination may get at once beyond its rate")
	fs.UintVar(&c.breakerFailures, "destination-breaker-failures", 5, "consecutive failed attempts that open a destination's circuit breaker")
	fs.DurationVar(&dc.BreakerCooldown, "destination-breaker-cooldown", 30*time.Second, "how long an open breaker holds a destination's alerts before one attempt")
	fs.BoolVar(&dc.AllowPrivate, "allow-private-destinations", false, "let destinations resolve to loopback and private addresses (tests, closed networks)")
	fs.IntVar(&c.maxRules, "max-rules-per-user", 100, "rules one user may hold")
	fs.StringVar(&c.auth.HS256SecretFile, "jwt-hs256-secret-file", "", "file holding the shared secret of HS256 tokens (at least 32 bytes)")
	fs.StringVar(&c.auth.RS256PublicKeyFile, "jwt-rs256-public-key-file", "", "PEM file of the RSA public key that verifies RS256 tokens")
	fs.StringVar(&c.auth.APIKeysFile, "api-keys-file", "", `JSON file of API keys: {"keys":[{"sha256":"<hex of the key>","user":"...","symbols":[...],"firehose":false}]}`)
	fs.StringVar(&c.auth.Issuer, "jwt-issuer", "", "when set, tokens must carry this iss claim")
	fs.StringVar(&c.auth.Audience, "jwt-audience", "", "when set, tokens must list this aud claim")
	c.Common.Register(fs, "HTTP address")
	if err := svc.Parse(fs, args); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c *config) validate() error {
	cc, dc := &c.consumer, &c.deliver
	redisErr := redisconn.Check(c.redisAddr, redisconn.Mode(c.redisMode))
	switch {
	case c.httpAddr == "":
		return errors.New("-http-addr is empty")
	case c.redisAddr == "":
		return errors.New("-redis-addr is empty")
	case redisErr != nil:
		return fmt.Errorf("-redis-addr %q, -redis-mode %q: %w", c.redisAddr, c.redisMode, redisErr)
	case cc.Shards < 1 || cc.Shards > 1024:
		return fmt.Errorf("-shards %d: want 1 to 1024", cc.Shards)
	case cc.Group == "":
		return errors.New("-consumer-group is empty")
	case cc.ClaimIdle < 100*time.Millisecond:
		return fmt.Errorf("-claim-idle %s: want at least 100ms", cc.ClaimIdle)
	case cc.MaxDeliveries < 1:
		return fmt.Errorf("-max-deliveries %d: want at least 1", cc.MaxDeliveries)
	case cc.MaxInFlight < 100:
		return fmt.Errorf("-max-in-flight %d: want at least 100", cc.MaxInFlight)
	case cc.DeadLetter == "":
		return errors.New("-dead-letter-stream is empty")
	case cc.DeadLetterMaxLen < 1:
		return fmt.Errorf("-dead-letter-maxlen %d: want at least 1", cc.DeadLetterMaxLen)
	case cc.ShutdownGrace < 0:
		return fmt.Errorf("-shutdown-grace %s: want 0 or more", cc.ShutdownGrace)
	case dc.Timeout < 100*time.Millisecond:
		return fmt.Errorf("-delivery-timeout %s: want at least 100ms", dc.Timeout)
	case dc.MaxAttempts < 1:
		return fmt.Errorf("-max-attempts %d: want at least 1", dc.MaxAttempts)
	case dc.BackoffBase <= 0 || dc.BackoffMax < dc.BackoffBase:
		return fmt.Errorf("-backoff-base %s and -backoff-max %s: want 0 < base <= max", dc.BackoffBase, dc.BackoffMax)
	case dc.MaxAge < time.Second:
		return fmt.Errorf("-max-alert-age %s: want at least 1s", dc.MaxAge)
	case dc.Queue < 1:
		return fmt.Errorf("-destination-queue %d: want at least 1", dc.Queue)
	case !(c.rates.webhook > 0 && c.rates.slack > 0 && c.rates.discord > 0):
		return fmt.Errorf("-webhook-rate %g, -slack-rate %g, -discord-rate %g: want more than 0",
			c.rates.webhook, c.rates.slack, c.rates.discord)
	case dc.Burst < 1:
		return fmt.Errorf("-destination-burst %d: want at least 1", dc.Burst)
	case c.breakerFailures < 1 || c.breakerFailures > 1000:
		return fmt.Errorf("-destination-breaker-failures %d: want 1 to 1000", c.breakerFailures)
	case dc.BreakerCooldown <= 0:
		return fmt.Errorf("-destination-breaker-cooldown %s: want more than 0", dc.BreakerCooldown)
	case c.maxRules < 1:
		return fmt.Errorf("-max-rules-per-user %d: want at least 1", c.maxRules)
	case c.auth.HS256SecretFile == "" && c.auth.RS256PublicKeyFile == "" && c.auth.APIKeysFile == "":
		return errors.New("the rules API needs credentials: set -api-keys-file, -jwt-hs256-secret-file or -jwt-rs256-public-key-file")
	}
	dc.BreakerFailures = uint32(c.breakerFailures)
	dc.Rates = map[string]rate.Limit{
		deliver.Webhook: rate.Limit(c.rates.webhook), deliver.Slack: rate.Limit(c.rates.slack),
		deliver.Discord: rate.Limit(c.rates.discord),
	}
	if cc.Name == "" {
		cc.Name = defaultConsumer()
	}
	return nil
}

// defaultConsumer names an instance after its host and process, with a
// random suffix so a restarted process with a recycled id is a new consumer.
func defaultConsumer() string {
	host, err := os.Hostname()
	if err != nil {
		host = "alerts"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

func main() {
	var cfg config
	svc.Main("alerts", func(args []string) (svc.Common, error) {
		var err error
		cfg, err = parse(args)
		return cfg.Common, err
	}, func(ctx context.Context, log *zap.Logger) error { return run(ctx, cfg, log) })
}

func run(ctx context.Context, cfg config, log *zap.Logger) error {
	authn, err := cfg.auth.Authenticator()
	if err != nil {
		return err
	}
	// One connection per shard reader blocks in XREADGROUP; the rest serve
	// acknowledgements, dead letters, the API and the rules.
	rdb, err := redisconn.New(cfg.redisAddr, redisconn.Options{
		Mode: redisconn.Mode(cfg.redisMode), PoolSize: cfg.consumer.Shards + 32,
	})
	if err != nil {
		return fmt.Errorf("-redis-addr: %w", err)
	}
	defer rdb.Close()
	sugar := log.Sugar()

	ops := svc.NewOps()
	if cfg.Pprof {
		ops.EnableProfiling()
	}
	store := rules.NewStore(rdb)
	live := rules.NewLive(store, ops.Registry, sugar)
	ops.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	ops.AddCheck("rules", func(context.Context) error {
		if live.Version() < 0 {
			return errors.New("the alert rules are not loaded yet")
		}
		return nil
	})
	api.New(store, authn, cfg.maxRules, ops.Registry, sugar).Register(ops.Mux())

	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	addr, served, err := svc.Serve(httpCtx, cfg.httpAddr, ops.Mux())
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set -http-addr or LIVEFLOW_HTTP_ADDR to move the alerts API)", cfg.httpAddr, err)
	}
	log.Info("alerts started", zap.Stringer("addr", addr), zap.String("redis", cfg.redisAddr),
		zap.Int("shards", cfg.consumer.Shards), zap.String("group", cfg.consumer.Group),
		zap.String("consumer", cfg.consumer.Name))

	// Matching before the rules are known would acknowledge events
	// without alerting.
	for err := live.Load(ctx); err != nil; err = live.Load(ctx) {
		log.Warn("cannot load the alert rules; retrying (is Redis reachable?)", zap.Error(err))
		select {
		case <-ctx.Done():
			stopHTTP()
			return <-served
		case <-time.After(time.Second):
		}
	}
	// Rules and consumer stop with ctx, or when the HTTP server fails.
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	rulesDone := make(chan struct{})
	go func() {
		defer close(rulesDone)
		live.Run(cctx, time.Second)
	}()

	disp := deliver.New(cfg.deliver, deliver.NewMetrics(ops.Registry), sugar)
	consumer, err := consume.New(rdb, cfg.consumer, live, disp, consume.NewMetrics(ops.Registry), sugar)
	if err != nil {
		disp.Close()
		return err
	}
	consumed := make(chan error, 1)
	go func() { consumed <- consumer.Run(cctx) }()

	var httpErr error
	select {
	case <-ctx.Done():
	case httpErr = <-served:
		served = nil
	}
	log.Info("alerts stopping", zap.Duration("grace", cfg.consumer.ShutdownGrace))
	stop()
	err = <-consumed
	<-rulesDone
	stopHTTP()
	if served != nil {
		httpErr = <-served
	}
	return errors.Join(httpErr, err)
}

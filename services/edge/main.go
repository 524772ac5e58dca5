// Command edge serves scored flow to WebSocket clients: it reads the Redis
// shard streams its clients need and pushes each client the events of the
// underlyings it subscribed to. It also serves the live page at /.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/liveflow/liveflow/pkg/redisconn"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

type config struct {
	httpAddr   string
	redisAddr  string
	redisMode  string
	feedStatus string
	shards     int
	fanout     hub.Fanout
	origins    string
	maxSubs    int
	maxConns   int
	queueLen   int
	queueBytes int
	lagGrace   time.Duration
	reqRate    float64
	reqBurst   int
	batchDelay time.Duration
	pingEvery  time.Duration
	auth       authFlags
	drainGrace time.Duration
	drainOver  time.Duration
	svc.Common
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.StringVar(&c.httpAddr, "http-addr", ":8080", "address of /ws, the live page, /healthz, /readyz and /metrics")
	fs.StringVar(&c.redisAddr, "redis-addr", "127.0.0.1:6379", "Redis host:port, or comma-separated seed nodes of a Redis Cluster")
	fs.StringVar(&c.redisMode, "redis-mode", "auto", "auto (a cluster when -redis-addr lists several nodes), single or cluster")
	fs.StringVar(&c.feedStatus, "feed-status-key", "liveflow:feed:status",
		"Redis hash where ingest publishes the market-data feed's state; clients are told when it is degraded (empty: ignore it)")
	fs.IntVar(&c.shards, "shards", stream.DefaultShards, "number of Redis shard streams; must match the scorers")
	fs.TextVar(&c.fanout, "fanout", hub.FanoutXRead, "how shard readers learn of new events: xread (XREAD BLOCK), or pubsub (the "+
		"scorers' notifications, which needs scorers run with -stream-notify)")
	fs.StringVar(&c.origins, "allowed-origins", "", "comma-separated origin host patterns allowed besides the page's own host, e.g. *.example.com")
	fs.IntVar(&c.maxSubs, "max-subscriptions", 64, "subscriptions one connection may hold")
	fs.IntVar(&c.maxConns, "max-connections-per-user", 100, "connections one authenticated user may hold")
	fs.IntVar(&c.queueLen, "client-queue", 4096, "events waiting per client; beyond it the oldest are dropped and the client told")
	fs.IntVar(&c.queueBytes, "client-queue-bytes", 4<<20, "bytes of events waiting per client; beyond it the oldest are dropped and the client told")
	fs.DurationVar(&c.lagGrace, "lag-grace", 5*time.Second, "how long a client may stay behind, dropping events, before it is cut off")
	fs.Float64Var(&c.reqRate, "max-requests-per-second", 20, "client frames per second one connection may send, sustained")
	fs.IntVar(&c.reqBurst, "max-request-burst", 40, "client frames one connection may send in a burst")
	fs.DurationVar(&c.batchDelay, "batch-delay", 0, "how long a client's writer waits for more events before it writes a frame")
	c.auth.register(fs)
	fs.DurationVar(&c.pingEvery, "ping-interval", 20*time.Second, "how often clients are pinged; one that misses a ping is closed")
	fs.DurationVar(&c.drainOver, "drain-period", 5*time.Second, "on shutdown, clients are told to reconnect elsewhere spread over this time")
	fs.DurationVar(&c.drainGrace, "shutdown-grace", 10*time.Second, "how long shutdown waits for clients to close, drain period included")
	c.Common.Register(fs, "HTTP address")
	if err := svc.Parse(fs, args); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.httpAddr == "":
		return errors.New("-http-addr is empty")
	case c.redisAddr == "":
		return errors.New("-redis-addr is empty")
	case badAddrs(c.redisAddr) != nil:
		return fmt.Errorf("-redis-addr: %w", badAddrs(c.redisAddr))
	case c.redisMode != "auto" && c.redisMode != "single" && c.redisMode != "cluster":
		return fmt.Errorf("-redis-mode %q: want auto, single or cluster", c.redisMode)
	case c.shards < 1 || c.shards > 1024:
		return fmt.Errorf("-shards %d: want 1 to 1024", c.shards)
	case c.maxSubs < 1:
		return fmt.Errorf("-max-subscriptions %d: want at least 1", c.maxSubs)
	case c.maxConns < 1:
		return fmt.Errorf("-max-connections-per-user %d: want at least 1", c.maxConns)
	case c.queueLen < 2:
		return fmt.Errorf("-client-queue %d: want at least 2", c.queueLen)
	case c.queueBytes < 64<<10:
		return fmt.Errorf("-client-queue-bytes %d: want at least 65536, more than the largest event", c.queueBytes)
	case c.lagGrace <= 0:
		return fmt.Errorf("-lag-grace %s: want more than 0", c.lagGrace)
	case !(c.reqRate > 0) || c.reqBurst < 1:
		return fmt.Errorf("-max-requests-per-second %g and -max-request-burst %d: want more than 0", c.reqRate, c.reqBurst)
	case c.batchDelay < 0 || c.batchDelay > time.Second:
		return fmt.Errorf("-batch-delay %s: want 0 to 1s", c.batchDelay)
	case c.drainOver < 0 || c.drainOver > c.drainGrace:
		return fmt.Errorf("-drain-period %s: want 0 up to -shutdown-grace %s", c.drainOver, c.drainGrace)
	case c.pingEvery < time.Second:
		return fmt.Errorf("-ping-interval %s: want at least 1s", c.pingEvery)
	}
	return nil
}

// followFeedStatus reads the market-data feed's state that ingest publishes
// and passes it on to the clients, until ctx ends. A missing key means no
// ingest reports a state (none runs, or it publishes none): nothing to say.
// A failed read is left to the hub, which reports Redis trouble itself.
func followFeedStatus(ctx context.Context, rdb redis.UniversalClient, key string, srv *edge.Server) {
	t := time.NewTicker(feedStatusEvery)
	defer t.Stop()
	for {
		st, err := rdb.HGetAll(ctx, key).Result()
		if err == nil {
			ok := len(st) == 0 || st["state"] == "ok"
			reason := "the market-data feed is degraded"
			if d := st["detail"]; d != "" {
				reason += ": " + d
			}
			srv.SetStatus("feed", ok, reason)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// feedStatusEvery is how often the feed's state is read.
const feedStatusEvery = time.Second

func badAddrs(addrs string) error {
	_, err := redisconn.Parse(addrs)
	return err
}

func main() {
	var cfg config
	svc.Main("edge", func(args []string) (svc.Common, error) {
		var err error
		cfg, err = parse(args)
		return cfg.Common, err
	}, func(ctx context.Context, log *zap.Logger) error { return run(ctx, cfg, log) })
}

func run(ctx context.Context, cfg config, log *zap.Logger) error {
	// One connection per shard reader blocks in XREAD; leave room for
	// history reads and readiness checks.
	rdb, err := redisconn.New(cfg.redisAddr, redisconn.Options{
		Mode: redisconn.Mode(cfg.redisMode), PoolSize: cfg.shards + 4,
	})
	if err != nil {
		return fmt.Errorf("-redis-addr: %w", err)
	}
	defer rdb.Close()

	ops := svc.NewOps()
	if cfg.Pprof {
		ops.EnableProfiling()
	}
	ops.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	// A draining node answers /readyz 503, so a load balancer stops sending
	// it the clients it is moving to the other nodes.
	var draining atomic.Bool
	ops.AddCheck("drain", func(context.Context) error {
		if draining.Load() {
			return errors.New("draining: clients are moving to other nodes")
		}
		return nil
	})
	// The hub reports its health to the server, which tells the clients;
	// the server is made after the hub, so reports wait for it.
	var server atomic.Pointer[edge.Server]
	health := func(hl hub.Health) {
		if srv := server.Load(); srv != nil {
			srv.SetStatus("redis", hl.OK, hl.Reason)
		}
		if !hl.OK {
			log.Warn("feed degraded", zap.String("reason", hl.Reason))
		} else {
			log.Info("feed recovered")
		}
	}
	h := hub.New(rdb, cfg.shards, log.Sugar(), hub.NewMetrics(ops.Registry),
		hub.WithFanout(cfg.fanout), hub.WithHealth(health))
	defer h.Close()

	var origins []string
	for _, o := range strings.Split(cfg.origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	authn, err := cfg.auth.authenticator()
	if err != nil {
		return err
	}
	srv := edge.NewServer(h, edge.Config{
		Limits: edge.Limits{
			MaxSubscriptions: cfg.maxSubs, MaxConnsPerUser: cfg.maxConns,
			QueueLen: cfg.queueLen, QueueBytes: cfg.queueBytes, LagGrace: cfg.lagGrace,
			RequestRate: cfg.reqRate, RequestBurst: cfg.reqBurst,
			BatchDelay: cfg.batchDelay, PingEvery: cfg.pingEvery,
		},
		Origins: origins,
		Auth:    authn,
	}, edge.NewMetrics(ops.Registry))
	server.Store(srv)
	if hl := h.Health(); !hl.OK {
		srv.SetStatus("redis", hl.OK, hl.Reason)
	}
	srv.Register(ops.Mux())
	if cfg.feedStatus != "" {
		go followFeedStatus(ctx, rdb, cfg.feedStatus, srv)
	}

	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	addr, served, err := svc.Serve(httpCtx, cfg.httpAddr, ops.Mux())
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set -http-addr or LIVEFLOW_HTTP_ADDR to move the edge)", cfg.httpAddr, err)
	}
	log.Info("edge started", zap.Stringer("addr", addr), zap.String("redis", cfg.redisAddr),
		zap.Int("shards", cfg.shards), zap.Stringer("fanout", cfg.fanout), zap.Bool("auth_required", authn.Required()))

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	draining.Store(true)
	log.Info("edge draining", zap.Duration("over", cfg.drainOver), zap.Duration("grace", cfg.drainGrace))
	dctx, cancel := context.WithTimeout(context.Background(), cfg.drainGrace)
	defer cancel()
	srv.Shutdown(dctx, cfg.drainOver)
	stopHTTP()
	return <-served
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/tools/stack"
)

// env is the stack under test: Kafka (a kafkafake process or a real broker
// run by broker.sh), redis-server with append-only persistence, two scorers
// in one group, two edges and ingest, each a process of its own that a
// fault kills and starts again.
type env struct {
	cfg  config
	work string // the run's directory: data, logs, the tape
	logs io.Writer

	kafka     *stack.Process // the kafkafake process; nil with a real broker
	kafkaPort int
	brokers   string
	redis     *localredis.Server
	redisPort int
	st        *stack.Stack // services, started with the stack's topics

	mu      sync.Mutex // guards the slices below, which faults change
	scorers []*stack.Process
	edges   []*stack.Process // by index into edgeAddrs; nil while down
	ingest  *stack.Process

	edgeAddrs  []string
	downEdge   int    // the edge a fault killed; owned by the fault
	ingestOps  string // the running ingest's ops address
	scorerOps  []string
	tape       string
	group      string
	partitions int32
}

// start brings up Kafka and Redis, then the scorers and the edges; ingest
// starts later, with startIngest, once the clients listen.
func startEnv(ctx context.Context, cfg config, work string, logs io.Writer) (*env, error) {
	e := &env{cfg: cfg, work: work, logs: logs, partitions: 6}
	if cfg.brokers == "" {
		port, err := localredis.FreePort()
		if err != nil {
			return nil, err
		}
		e.kafkaPort = port
		if err := e.startKafkafake(ctx); err != nil {
			return nil, err
		}
	} else {
		e.brokers = cfg.brokers
	}
	port, err := localredis.FreePort()
	if err != nil {
		return nil, err
	}
	e.redisPort = port
	if err := e.startRedis(ctx); err != nil {
		e.close()
		return nil, err
	}
	e.st, err = stack.Start(ctx, stack.Config{
		KafkaBrokers: e.brokers, RedisAddr: e.redis.Addr(), Partitions: e.partitions, Logs: logs,
		TicksTopic: fmt.Sprintf("faults-%d-%d.ticks", cfg.seed, time.Now().UnixNano()),
		Retention:  time.Hour,
	})
	if err != nil {
		e.close()
		return nil, err
	}
	e.group = "faults-" + e.st.Topic
	for range 2 {
		if err := e.startScorer(); err != nil {
			e.close()
			return nil, err
		}
	}
	for range 2 {
		addr, err := stack.FreeAddr()
		if err != nil {
			e.close()
			return nil, err
		}
		e.edgeAddrs = append(e.edgeAddrs, addr)
		e.edges = append(e.edges, nil)
	}
	for i := range e.edgeAddrs {
		if err := e.startEdge(ctx, i); err != nil {
			e.close()
			return nil, err
		}
	}
	return e, nil
}

// startKafkafake starts kfake in a process of its own on the env's port and
// data directory, and waits until it answers.
func (e *env) startKafkafake(ctx context.Context) error {
	p, err := stack.StartProcess("kafka", filepath.Join(e.cfg.bin, "kafkafake"), nil, e.logs,
		"-port", strconv.Itoa(e.kafkaPort), "-data-dir", filepath.Join(e.work, "kafka"))
	if err != nil {
		return err
	}
	e.kafka = p
	e.brokers = net.JoinHostPort("127.0.0.1", strconv.Itoa(e.kafkaPort))
	return waitTCP(ctx, e.brokers, 30*time.Second)
}

// startRedis starts redis-server on the env's port and directory with
// append-only persistence, so a restart finds every acknowledged write.
func (e *env) startRedis(ctx context.Context) error {
	dir := filepath.Join(e.work, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r, err := localredis.Start(ctx, localredis.Options{Port: e.redisPort, Dir: dir, Persist: true})
	if err != nil {
		return err
	}
	e.redis = r
	return nil
}

// startScorer adds a scorer to the group.
func (e *env) startScorer() error {
	ops, err := stack.FreeAddr()
	if err != nil {
		return err
	}
	p, err := e.st.Service(e.cfg.bin, "scorer", "LIVEFLOW_GROUP="+e.group, "LIVEFLOW_OPS_ADDR="+ops,
		// The lowest session timeout a real broker accepts by default: a
		// killed scorer's partitions move within it.
		"LIVEFLOW_SESSION_TIMEOUT=6s", "LIVEFLOW_CHECKPOINT_INTERVAL=1s")
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scorers = append(e.scorers, p)
	e.scorerOps = append(e.scorerOps, ops)
	return nil
}

// startEdge starts edge i on its address and waits until it is ready.
func (e *env) startEdge(ctx context.Context, i int) error {
	p, err := e.st.Service(e.cfg.bin, "edge", "LIVEFLOW_HTTP_ADDR="+e.edgeAddrs[i],
		"LIVEFLOW_DRAIN_PERIOD=500ms", "LIVEFLOW_SHUTDOWN_GRACE=2s")
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.edges[i] = p
	e.mu.Unlock()
	return stack.WaitReady(ctx, "http://"+e.edgeAddrs[i]+"/readyz", 30*time.Second)
}

// startIngest starts ingest replaying the tape at its own pace.
func (e *env) startIngest() error {
	ops, err := stack.FreeAddr()
	if err != nil {
		return err
	}
	p, err := e.st.Service(e.cfg.bin, "ingest", "LIVEFLOW_FEED=file:"+e.tape, "LIVEFLOW_REPLAY_SPEED=1",
		"LIVEFLOW_OPS_ADDR="+ops, "LIVEFLOW_BREAKER_COOLDOWN=1s")
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ingest, e.ingestOps = p, ops
	return nil
}

// edgeURLs returns the /ws URL of every edge, starting with edge first.
func (e *env) edgeURLs(first int) []string {
	var out []string
	for i := range e.edgeAddrs {
		out = append(out, "ws://"+e.edgeAddrs[(first+i)%len(e.edgeAddrs)]+"/ws")
	}
	return out
}

// killKafka kills Kafka at once: the kafkafake process, or the real broker
// through broker.sh.
func (e *env) killKafka() error {
	if e.kafka != nil {
		e.kafka.Kill()
		return nil
	}
	return e.brokerScript("crash")
}

// restartKafka starts Kafka again on the same port and data.
func (e *env) restartKafka(ctx context.Context) error {
	if e.kafka != nil {
		return e.startKafkafake(ctx)
	}
	return e.brokerScript("restart")
}

func (e *env) brokerScript(cmd string) error {
	c := exec.Command(e.cfg.brokerScript, cmd, e.cfg.brokerDir)
	c.Stdout, c.Stderr = e.logs, e.logs
	if err := c.Run(); err != nil {
		return fmt.Errorf("faults: %s %s %s: %w", e.cfg.brokerScript, cmd, e.cfg.brokerDir, err)
	}
	return nil
}

// close stops everything the env started, services first.
func (e *env) close() {
	if e.st != nil {
		_ = e.st.Close()
	}
	if e.redis != nil {
		e.redis.Stop()
	}
	if e.kafka != nil {
		_ = e.kafka.Stop(10 * time.Second)
	}
}

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("faults: %s does not accept connections after %s: %w", addr, within, err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

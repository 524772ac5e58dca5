package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/loadtest/internal/expect"
	"github.com/liveflow/liveflow/loadtest/internal/proc"
	"github.com/liveflow/liveflow/loadtest/internal/prom"
	"github.com/liveflow/liveflow/pkg/topics"
	"github.com/liveflow/liveflow/tools/stack"
)

// target is the pipeline under test: its addresses, and the processes the
// load tester started, whose CPU and memory it reads from /proc.
type target struct {
	embedded   bool
	url        string            // the edge's WebSocket URL
	brokers    []string          // Kafka seed brokers
	topic      string            // the ticks topic
	partitions int               // of the ticks topic
	shards     int               // shard streams
	metrics    map[string]string // /metrics URL by service name
	rdb        *redis.Client     // nil when no Redis address is known
	kcl        *kgo.Client       // for offsets and the scorers' progress

	bin   string
	logs  *os.File
	kfake *kfakeProc
	stack *stack.Stack
	procs map[string]int // pid by name, of the processes started here
}

// setUp starts the local stack, or checks the deployment's addresses.
func setUp(ctx context.Context, cfg config) (*target, error) {
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.bin, "ingest")); err != nil {
		return nil, fmt.Errorf("loadtest: the ingest binary is missing from -bin %s (`make build` puts it in bin/): %w",
			cfg.bin, err)
	}
	t := &target{bin: cfg.bin, procs: map[string]int{}, shards: cfg.shards}
	var err error
	if cfg.url == "" {
		err = t.startStack(ctx, cfg)
	} else {
		err = t.useDeployment(cfg)
	}
	if err == nil {
		t.kcl, err = kgo.NewClient(kgo.SeedBrokers(t.brokers...))
	}
	if err == nil {
		err = t.countPartitions(ctx)
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// startStack starts what `make run` starts but ingest, which the run starts
// once the clients are in: kfake in a child process, a private redis-server,
// the scorer and the edge, each service on a free loopback port.
func (t *target) startStack(ctx context.Context, cfg config) error {
	t.embedded = true
	for _, name := range []string{"scorer", "edge"} {
		if _, err := os.Stat(filepath.Join(cfg.bin, name)); err != nil {
			return fmt.Errorf("loadtest: the %s binary is missing from -bin %s (`make build`): %w", name, cfg.bin, err)
		}
	}
	var err error
	if t.logs, err = os.Create(filepath.Join(cfg.out, "services.log")); err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	if t.kfake, err = startKfake(ctx); err != nil {
		return err
	}
	t.procs["kfake"] = t.kfake.pid()
	t.stack, err = stack.Start(ctx, stack.Config{KafkaBrokers: t.kfake.addr, Logs: t.logs})
	if err != nil {
		return err
	}
	t.brokers, t.topic = []string{t.kfake.addr}, t.stack.Topic
	t.rdb = redis.NewClient(&redis.Options{Addr: t.stack.Redis, ContextTimeoutEnabled: true})
	if info, err := t.rdb.Info(ctx, "server").Result(); err == nil {
		if _, _, pid := proc.RedisInfo(info); pid > 0 {
			t.procs["redis"] = pid
		}
	}
	scorerOps, err1 := stack.FreeAddr()
	edgeAddr, err2 := stack.FreeAddr()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	scorer, err := t.stack.Service(cfg.bin, "scorer", "LIVEFLOW_OPS_ADDR="+scorerOps)
	if err != nil {
		return err
	}
	t.procs["scorer"] = scorer.Pid()
	edge, err := t.stack.Service(cfg.bin, "edge", "LIVEFLOW_HTTP_ADDR="+edgeAddr)
	if err != nil {
		return err
	}
	t.procs["edge"] = edge.Pid()
	t.url = "ws://" + edgeAddr + "/ws"
	t.metrics = map[string]string{"scorer": "http://" + scorerOps + "/metrics", "edge": "http://" + edgeAddr + "/metrics"}
	return t.waitReady(ctx, "http://"+edgeAddr+"/readyz", scorer, edge)
}

// waitReady waits up to a minute for the edge to be ready and the scorer
// to own every partition, so that the first ticks do not wait for a
// consumer group to form.
func (t *target) waitReady(ctx context.Context, edgeReady string, procs ...*stack.Process) error {
	deadline := time.Now().Add(time.Minute)
	for {
		for _, p := range procs {
			select {
			case <-p.Done():
				return fmt.Errorf("loadtest: %s exited at start (%v); see %s", p.Name, p.Err(), t.logs.Name())
			default:
			}
		}
		edgeOK := httpOK(ctx, edgeReady)
		owned := 0.0
		if page, err := prom.Scrape(ctx, t.metrics["scorer"]); err == nil {
			owned, _ = page.Sum("liveflow_scorer_partitions")
		}
		if edgeOK && owned >= float64(topics.DefaultPartitions) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("loadtest: the stack was not ready within a minute (edge ready: %v, "+
				"partitions the scorer owns: %v); see %s", edgeOK, owned, t.logs.Name())
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// httpOK reports whether url answers 200 within a second.
func httpOK(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// useDeployment takes the addresses of a running deployment.
func (t *target) useDeployment(cfg config) error {
	var err error
	if t.brokers, err = topics.SplitBrokers(cfg.brokers); err != nil {
		return err
	}
	t.url, t.topic = cfg.url, cfg.topic
	if t.metrics, err = parseMetrics(cfg.metrics); err != nil {
		return err
	}
	if cfg.redisAddr != "" {
		t.rdb = redis.NewClient(&redis.Options{Addr: cfg.redisAddr, ContextTimeoutEnabled: true})
	}
	f, err := os.Create(filepath.Join(cfg.out, "services.log"))
	t.logs = f
	return err
}

// countPartitions reads the partitions of the ticks topic.
func (t *target) countPartitions(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, end, err := expect.Bounds(ctx, t.kcl, t.topic)
	if err != nil {
		return err
	}
	t.partitions = len(end)
	return nil
}

// describe says what the target is, in a line.
func (t *target) describe() string {
	if t.embedded {
		return "local stack started here: kfake (own process), redis-server, scorer, edge and ingest from " + t.bin
	}
	return fmt.Sprintf("deployment: edge %s, Kafka %s, topic %s; ingest started here from %s",
		t.url, strings.Join(t.brokers, ","), t.topic, t.bin)
}

// close stops what setUp started, services first.
func (t *target) close() {
	if t.kcl != nil {
		t.kcl.Close()
	}
	if t.rdb != nil {
		t.rdb.Close()
	}
	if t.stack != nil {
		_ = t.stack.Close()
	}
	if t.kfake != nil {
		t.kfake.stop()
	}
	if t.logs != nil {
		t.logs.Close()
	}
}

// ingestProc is an ingest process started by the run, with the synthetic
// feed. It dies with the load tester.
type ingestProc struct {
	cmd  *exec.Cmd
	ops  string // its ops address, for /metrics
	done chan struct{}
	err  error // set before done is closed
}

// feed is what an ingest run sends: rate ticks a second, factor times that
// for the first burst.
type feed struct {
	rate   float64
	factor float64
	burst  time.Duration
}

// startIngest starts ingest with the synthetic feed f on the target's
// Kafka, with the market of cfg.
func (t *target) startIngest(cfg config, f feed) (*ingestProc, error) {
	ops, err := stack.FreeAddr()
	if err != nil {
		return nil, err
	}
	p := &ingestProc{ops: ops, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(t.bin, "ingest"))
	p.cmd.Env = append(os.Environ(),
		"LIVEFLOW_KAFKA_BROKERS="+strings.Join(t.brokers, ","),
		"LIVEFLOW_TICKS_TOPIC="+t.topic,
		"LIVEFLOW_PARTITIONS="+strconv.Itoa(t.partitions),
		"LIVEFLOW_FEED=synthetic",
		"LIVEFLOW_RATE="+strconv.FormatFloat(f.rate, 'f', -1, 64),
		"LIVEFLOW_BURST_FACTOR="+strconv.FormatFloat(max(f.factor, 1), 'f', -1, 64),
		"LIVEFLOW_BURST_DURATION="+max(f.burst, time.Millisecond).String(),
		"LIVEFLOW_UNDERLYINGS="+strconv.Itoa(cfg.underlyings),
		"LIVEFLOW_SEED="+strconv.FormatInt(cfg.seed, 10),
		"LIVEFLOW_OPS_ADDR="+ops,
		"LIVEFLOW_LOG_FORMAT=console",
	)
	p.cmd.Stdout, p.cmd.Stderr = t.logs, t.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: start ingest: %w", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id.
func (p *ingestProc) pid() int { return p.cmd.Process.Pid }

// stop asks ingest to flush and exit, and kills it after 15 s.
func (p *ingestProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

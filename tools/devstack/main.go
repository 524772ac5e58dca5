// Command devstack runs the whole liveflow pipeline on one machine, as
// `make run` does: an in-process Kafka (kfake) on port 9092 unless it is
// taken, a private redis-server, and the scorer, edge, alerts and ingest
// binaries.
// LIVEFLOW_KAFKA_BROKERS and LIVEFLOW_REDIS_ADDR point it at external
// services instead; every other LIVEFLOW_ variable reaches the services.
// Ctrl-C stops everything, leaving no process behind.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/tools/stack"
)

func main() {
	binDir := flag.String("bin", "bin", "directory holding the ingest, scorer and edge binaries")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *binDir); err != nil {
		fmt.Fprintf(os.Stderr, "devstack: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, binDir string) error {
	for _, name := range []string{"ingest", "scorer", "edge", "alerts"} {
		if _, err := os.Stat(binDir + "/" + name); err != nil {
			return fmt.Errorf("service binary %s/%s is missing; build with `make build`", binDir, name)
		}
	}
	httpAddr := envOr("LIVEFLOW_HTTP_ADDR", ":8080")
	if err := checkFree(httpAddr); err != nil {
		return fmt.Errorf("the edge cannot listen on %s (%v); set LIVEFLOW_HTTP_ADDR to another address", httpAddr, err)
	}

	say("starting Kafka and Redis")
	s, err := stack.Start(ctx, stack.Config{
		KafkaBrokers: os.Getenv("LIVEFLOW_KAFKA_BROKERS"),
		KafkaPort:    portOr(9092),
		RedisAddr:    os.Getenv("LIVEFLOW_REDIS_ADDR"),
		Logs:         os.Stdout,
	})
	if errors.Is(err, localredis.ErrNotInstalled) {
		return fmt.Errorf("%w; or point LIVEFLOW_REDIS_ADDR at a running Redis", err)
	}
	if err != nil {
		return err
	}
	defer func() {
		say("stopping")
		if err := s.Close(); err != nil {
			say("%v", err)
		}
		say("stopped")
	}()

	ingestOps := envOr("LIVEFLOW_INGEST_OPS_ADDR", fmt.Sprintf("127.0.0.1:%d", portOr(9101)))
	scorerOps := envOr("LIVEFLOW_SCORER_OPS_ADDR", fmt.Sprintf("127.0.0.1:%d", portOr(9102)))
	alertsAddr := envOr("LIVEFLOW_ALERTS_HTTP_ADDR", fmt.Sprintf("127.0.0.1:%d", portOr(8090)))
	alerts, devKey, err := alertsSettings(alertsAddr)
	if err != nil {
		return err
	}
	defer os.RemoveAll(alerts.dir)
	var procs []*stack.Process
	for _, svc := range []struct {
		name string
		env  []string
	}{
		{"scorer", []string{"LIVEFLOW_OPS_ADDR=" + scorerOps}},
		{"edge", []string{"LIVEFLOW_HTTP_ADDR=" + httpAddr}},
		{"alerts", alerts.vars},
		{"ingest", []string{"LIVEFLOW_OPS_ADDR=" + ingestOps}},
	} {
		p, err := s.Service(binDir, svc.name, svc.env...)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}

	page := "http://" + strings.Replace(httpAddr, ":", "localhost:", 1)
	if host, _, _ := net.SplitHostPort(httpAddr); host != "" {
		page = "http://" + httpAddr
	}
	if err := stack.WaitReady(ctx, page+"/readyz", time.Minute, procs...); err != nil {
		return fmt.Errorf("the edge is not ready: %w", err)
	}
	say("liveflow is running; press Ctrl-C to stop")
	say("  live feed:   %s  (WebSocket: %s/ws)", page, strings.Replace(page, "http", "ws", 1))
	say("  Kafka:       %s  (topic %s; e.g. kcat -b %s -t %s -C)", s.Brokers, s.Topic, s.Brokers, s.Topic)
	say("  Redis:       %s  (streams flow:{0.k} .. flow:{15.k}, see docs/protocol.md)", s.Redis)
	say("  metrics:     %s/metrics  http://%s/metrics  http://%s/metrics  http://%s/metrics", page, scorerOps, ingestOps, alertsAddr)
	say("  alerts API:  http://%s/v1/rules  (see docs/alerts.md)", alertsAddr)
	if devKey != "" {
		say("               API key for this run: %s", devKey)
		say("               e.g. curl -H 'Authorization: Bearer %s' http://%s/v1/rules", devKey, alertsAddr)
	}

	return watch(ctx, procs)
}

// watch waits for Ctrl-C, or for a service to die, which stops everything:
// a half-running pipeline would only mislead.
func watch(ctx context.Context, procs []*stack.Process) error {
	exited := make(chan *stack.Process, len(procs))
	for _, p := range procs {
		go func() {
			<-p.Done()
			exited <- p
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case p := <-exited:
		return fmt.Errorf("%s exited unexpectedly (%v); see its log above", p.Name, p.Err())
	}
}

// portOr returns port when it is free on loopback, else a free one.
func portOr(port int) int {
	if checkFree(fmt.Sprintf("127.0.0.1:%d", port)) == nil {
		return port
	}
	p, err := localredis.FreePort()
	if err != nil {
		return port
	}
	return p
}

func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func say(format string, args ...any) {
	fmt.Printf("devstack | "+format+"\n", args...)
}

// alertsEnv is what the alerts service gets beyond the common variables.
type alertsEnv struct {
	vars []string
	dir  string // holds a generated API key file; "" when none
}

// alertsSettings points the alerts service at its address and, unless a
// credential source is configured, at an API key file made for this run,
// whose key it returns. Destinations on this machine are allowed unless
// LIVEFLOW_ALLOW_PRIVATE_DESTINATIONS says otherwise, so that local
// receivers work.
func alertsSettings(addr string) (alertsEnv, string, error) {
	env := alertsEnv{vars: []string{
		"LIVEFLOW_HTTP_ADDR=" + addr,
		"LIVEFLOW_ALLOW_PRIVATE_DESTINATIONS=" + envOr("LIVEFLOW_ALLOW_PRIVATE_DESTINATIONS", "true"),
	}}
	for _, v := range []string{"LIVEFLOW_API_KEYS_FILE", "LIVEFLOW_JWT_HS256_SECRET_FILE", "LIVEFLOW_JWT_RS256_PUBLIC_KEY_FILE"} {
		if os.Getenv(v) != "" {
			return env, "", nil
		}
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return env, "", err
	}
	key := "dev-" + hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(key))
	dir, err := os.MkdirTemp("", "liveflow-devstack-")
	if err != nil {
		return env, "", err
	}
	env.dir = dir
	file := filepath.Join(dir, "api-keys.json")
	content := `{"keys":[{"sha256":"` + hex.EncodeToString(sum[:]) + `","user":"dev","firehose":true}]}`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		return env, "", err
	}
	env.vars = append(env.vars, "LIVEFLOW_API_KEYS_FILE="+file)
	return env, key, nil
}

// Package stack starts liveflow locally: Kafka (franz-go's in-process kfake
// cluster, or external brokers), Redis (a private redis-server, or an external
// one) and the service binaries as separate processes. `make run` and the
// end-to-end tests both use it, so the tests exercise what a developer runs.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/topics"
)

// Config says what to start. The zero value starts kfake on a free port and a
// private redis-server.
type Config struct {
	KafkaBrokers string // external brokers; "" starts kfake
	KafkaPort    int    // kfake's port; 0 picks a free one
	RedisAddr    string // external Redis; "" starts redis-server
	// RedisCluster, when set and RedisAddr is empty, starts a private Redis
	// Cluster instead of a single redis-server; services get its seeds.
	RedisCluster *localredis.ClusterOptions
	TicksTopic   string // "" means options.ticks
	Partitions   int32  // of the ticks topic when the stack creates it; 0 means 12
	// Retention of the ticks topic the stack creates, so a long local run
	// does not grow kfake's memory without end; 0 means 15 minutes.
	Retention time.Duration
	Logs      io.Writer // where service output goes; nil discards it
}

// Stack is the running infrastructure and the services started on it.
type Stack struct {
	Brokers string // Kafka seed brokers, comma-separated
	Redis   string // Redis host:port, or a cluster's comma-separated seeds
	Topic   string
	// Cluster is the private Redis Cluster the stack started, if any, for
	// tests to fail its nodes over.
	Cluster *localredis.Cluster

	cfg   Config
	kfake *kfake.Cluster
	redis *localredis.Server
	logMu sync.Mutex

	mu    sync.Mutex
	procs []*Process
}

// Start brings up Kafka and Redis and creates the ticks topic.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.TicksTopic == "" {
		cfg.TicksTopic = topics.Ticks
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = topics.DefaultPartitions
	}
	if cfg.Retention == 0 {
		cfg.Retention = 15 * time.Minute
	}
	if cfg.Logs == nil {
		cfg.Logs = io.Discard
	}
	s := &Stack{cfg: cfg, Brokers: cfg.KafkaBrokers, Redis: cfg.RedisAddr, Topic: cfg.TicksTopic}

	if s.Brokers == "" {
		if err := s.startKfake(); err != nil {
			return nil, err
		}
	}
	if s.Redis == "" && cfg.RedisCluster != nil {
		c, err := localredis.StartCluster(ctx, *cfg.RedisCluster)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Cluster, s.Redis = c, c.Seeds()
	}
	if s.Redis == "" {
		r, err := localredis.Start(ctx, localredis.Options{})
		if err != nil {
			s.Close()
			return nil, err
		}
		s.redis, s.Redis = r, r.Addr()
	}
	if err := s.createTopic(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) startKfake() error {
	port := s.cfg.KafkaPort
	if port == 0 {
		var err error
		if port, err = localredis.FreePort(); err != nil {
			return err
		}
	}
	c, err := kfake.NewCluster(
		kfake.Ports(port),
		kfake.NumBrokers(1),
		// Check retention every minute instead of kfake's default hour.
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": "60000"}),
	)
	if err != nil {
		return fmt.Errorf("stack: start kfake on port %d: %w", port, err)
	}
	s.kfake, s.Brokers = c, c.ListenAddrs()[0]
	return nil
}

func (s *Stack) createTopic(ctx context.Context) error {
	brokers, err := topics.SplitBrokers(s.Brokers)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	retention := strconv.FormatInt(s.cfg.Retention.Milliseconds(), 10)
	resp, err := kadm.NewClient(cl).CreateTopic(tctx, s.cfg.Partitions, -1,
		map[string]*string{"retention.ms": &retention}, s.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("stack: create topic %q on %s: %w", s.Topic, s.Brokers, err)
	}
	return nil
}

// Service starts a service binary from binDir with the stack's Kafka and
// Redis addresses and the extra environment. Close stops it.
func (s *Stack) Service(binDir, name string, env ...string) (*Process, error) {
	base := []string{
		"LIVEFLOW_KAFKA_BROKERS=" + s.Brokers,
		"LIVEFLOW_REDIS_ADDR=" + s.Redis,
		"LIVEFLOW_TICKS_TOPIC=" + s.Topic,
		"LIVEFLOW_STATE_TOPIC=" + s.StateTopic(),
		"LIVEFLOW_FLOW_TOPIC=" + s.FlowTopic(),
		"LIVEFLOW_DLQ_TOPIC=" + s.DeadLetterTopic(),
		"LIVEFLOW_PARTITIONS=" + strconv.Itoa(int(s.cfg.Partitions)),
		"LIVEFLOW_LOG_FORMAT=console",
	}
	p, err := startProcess(name, filepath.Join(binDir, name), append(base, env...), s.cfg.Logs, &s.logMu)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// Close stops the services in the reverse order of their start, then Redis and
// Kafka, and returns the first problem met.
func (s *Stack) Close() error {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()

	var first error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Stop(15 * time.Second); err != nil && first == nil && !exitedBySignal(err) {
			first = err
		}
	}
	if s.redis != nil {
		s.redis.Stop()
	}
	if s.Cluster != nil {
		s.Cluster.Stop()
	}
	if s.kfake != nil {
		s.kfake.Close()
	}
	return first
}

// StateTopic returns the scorers' state topic: the default one beside the
// default ticks topic, and one of its own beside any other, so stacks that
// share a broker never share state.
func (s *Stack) StateTopic() string {
	if s.Topic == topics.Ticks {
		return topics.ScorerState
	}
	return s.Topic + ".state"
}

// FlowTopic returns the scorers' flow topic: the default one beside the
// default ticks topic, and one of its own beside any other.
func (s *Stack) FlowTopic() string {
	if s.Topic == topics.Ticks {
		return topics.Flow
	}
	return s.Topic + ".flow"
}

// DeadLetterTopic returns the scorers' dead-letter topic: the default one
// beside the default ticks topic, and one of its own beside any other.
func (s *Stack) DeadLetterTopic() string {
	if s.Topic == topics.Ticks {
		return topics.TicksDLQ
	}
	return s.Topic + ".dlq"
}

// FreeAddr returns a free loopback address for a service to listen on.
func FreeAddr() (string, error) {
	port, err := localredis.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/term"

	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/pkg/topics"
)

// connection holds the flags every command that talks to Kafka shares.
type connection struct {
	brokers  string
	timeout  time.Duration
	registry string
	seeds    []string
}

// register adds the flags; withRegistry adds -schema-registry too.
func (c *connection) register(fs *flag.FlagSet, e env, withRegistry bool) {
	brokers := e.getenv("LIVEFLOW_KAFKA_BROKERS")
	if brokers == "" {
		brokers = "127.0.0.1:9092"
	}
	fs.StringVar(&c.brokers, "kafka-brokers", brokers, "Kafka seed brokers, comma-separated host:port (default from LIVEFLOW_KAFKA_BROKERS)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for a broker to answer before giving up")
	if withRegistry {
		fs.StringVar(&c.registry, "schema-registry", e.getenv("LIVEFLOW_SCHEMA_REGISTRY"),
			"URL of a Confluent-compatible schema registry, for records framed with a registry schema id (default from LIVEFLOW_SCHEMA_REGISTRY)")
	}
}

// check validates the flags; call it after parsing.
func (c *connection) check() error {
	seeds, err := topics.SplitBrokers(c.brokers)
	if err != nil {
		return usagef("-kafka-brokers %q: %v", c.brokers, err)
	}
	if c.timeout <= 0 {
		return usagef("-timeout %s: want a positive duration", c.timeout)
	}
	if c.registry != "" && !strings.HasPrefix(c.registry, "http://") && !strings.HasPrefix(c.registry, "https://") {
		return usagef("-schema-registry %q: want an http:// or https:// URL", c.registry)
	}
	c.seeds = seeds
	return nil
}

// errUnreachable is wrapped by the error of a client whose brokers do not
// answer.
var errUnreachable = errors.New("no Kafka broker answers")

// client returns a Kafka client with opts, once a broker has answered.
func (c *connection) client(ctx context.Context, opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.seeds...), kgo.ClientID("flowctl")}, opts...)...)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w at %s within %s (is -kafka-brokers right?): %v", errUnreachable, c.brokers, c.timeout, err)
	}
	return cl, nil
}

// registryClient returns the schema registry client, or nil without one.
func (c *connection) registryClient() (*record.Registry, error) {
	if c.registry == "" {
		return nil, nil
	}
	return record.NewRegistry(c.registry)
}

func isTerminal(f interface{ Fd() uintptr }) bool { return term.IsTerminal(int(f.Fd())) }

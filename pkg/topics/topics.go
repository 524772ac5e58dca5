// Package topics creates and checks the Kafka topics liveflow uses.
package topics

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Names of the topics, unless configured otherwise.
const (
	Ticks       = "options.ticks"
	Flow        = "options.flow"
	ScorerState = "options.scorer-state"
	// TicksDLQ receives the ticks records the scorer cannot use.
	TicksDLQ = "options.ticks.dlq"
)

// StateConfigs are the topic configs of a compacted state topic whose
// records may be as large as maxRecord bytes.
func StateConfigs(maxRecord int) map[string]*string {
	compact, size := "compact", strconv.Itoa(maxRecord)
	return map[string]*string{"cleanup.policy": &compact, "max.message.bytes": &size}
}

// DefaultPartitions is the partition count of a topic the services create.
const DefaultPartitions = 12

// Ensure creates the topic with the given partitions and topic configs (nil
// for none) when it is missing, and returns the partition count it has. An
// existing topic is left as it is: changing partitions moves keys between
// partitions, which an operator must decide. Replication is the broker
// default.
func Ensure(ctx context.Context, adm *kadm.Client, topic string, partitions int32,
	configs map[string]*string) (int32, error) {
	resp, err := adm.CreateTopic(ctx, partitions, -1, configs, topic)
	if err == nil && resp.Err == nil {
		return partitions, nil
	}
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("topics: create %q: %w", topic, err)
	}

	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("topics: describe %q: %w", topic, err)
	}
	d, ok := details[topic]
	if !ok || d.Err != nil {
		return 0, fmt.Errorf("topics: describe %q: %v", topic, d.Err)
	}
	return int32(len(d.Partitions)), nil
}

// ID returns the topic's ID as the brokers report it, in base64. Unlike the
// name, the ID changes when a topic is deleted and created again.
func ID(ctx context.Context, adm *kadm.Client, topic string) (string, error) {
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return "", fmt.Errorf("topics: describe %q: %w", topic, err)
	}
	d, ok := details[topic]
	if !ok || d.Err != nil {
		return "", fmt.Errorf("topics: describe %q: %v", topic, d.Err)
	}
	return d.ID.String(), nil
}

// SplitBrokers parses a comma-separated list of host:port seeds.
func SplitBrokers(s string) ([]string, error) {
	var out []string
	for _, b := range strings.Split(s, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if !strings.Contains(b, ":") {
			return nil, fmt.Errorf("topics: broker %q has no port (want host:port)", b)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, errors.New("topics: no Kafka brokers given")
	}
	return out, nil
}

// EnsureRetry calls Ensure until it succeeds or ctx ends, waiting a second
// between attempts and reporting each failure to onRetry, so a service can
// start before its brokers are up.
func EnsureRetry(ctx context.Context, adm *kadm.Client, topic string, partitions int32,
	configs map[string]*string, onRetry func(error)) (int32, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		have, err := Ensure(tctx, adm, topic, partitions, configs)
		cancel()
		if err == nil {
			return have, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		onRetry(err)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

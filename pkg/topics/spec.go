package topics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Spec is what a service needs of a topic: created with these settings when
// missing, and checked against them when present.
type Spec struct {
	Name       string
	Partitions int32
	// Configs are topic configs (e.g. "cleanup.policy") set at creation and
	// compared with an existing topic's.
	Configs map[string]string
	// Required names the configs whose difference makes the topic unusable
	// (a compacted event log loses history); other differences are reported
	// as warnings. "partitions" may be listed too.
	Required []string
}

// Mismatch is one setting of an existing topic that differs from its Spec.
type Mismatch struct {
	Setting  string // a config key, or "partitions"
	Want     string
	Have     string
	Required bool // the Spec requires this setting: the topic is unusable as it is
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s is %q, want %q", m.Setting, m.Have, m.Want)
}

// ErrMismatch is wrapped by the errors about a topic whose required settings
// differ from its Spec.
var ErrMismatch = errors.New("topic settings differ from what liveflow needs")

// Result says what EnsureSpec found or did.
type Result struct {
	Partitions int32
	Created    bool
	// Mismatches are the settings of an existing topic that differ from the
	// Spec but are not required; the caller should warn about them.
	Mismatches []Mismatch
}

// EnsureSpec creates the topic when it is missing and otherwise checks it
// against the spec. It returns an error wrapping ErrMismatch, naming every
// difference, when a required setting differs; other differences come back
// in Result.Mismatches. An existing topic is never altered: changing
// partitions moves keys and changing retention deletes data, which an
// operator must decide.
func EnsureSpec(ctx context.Context, adm *kadm.Client, s Spec) (Result, error) {
	configs := make(map[string]*string, len(s.Configs))
	for k, v := range s.Configs {
		configs[k] = &v
	}
	resp, err := adm.CreateTopic(ctx, s.Partitions, -1, configs, s.Name)
	if err == nil {
		err = resp.Err
	}
	if err == nil {
		return Result{Partitions: s.Partitions, Created: true}, nil
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		return Result{}, fmt.Errorf("topics: create %q: %w", s.Name, err)
	}
	have, mismatches, err := Check(ctx, adm, s)
	if err != nil {
		return Result{}, err
	}
	res := Result{Partitions: have}
	var required []string
	for _, m := range mismatches {
		if m.Required {
			required = append(required, m.String())
		} else {
			res.Mismatches = append(res.Mismatches, m)
		}
	}
	if len(required) > 0 {
		return res, fmt.Errorf("topics: %q: %w: %s", s.Name, ErrMismatch, strings.Join(required, "; "))
	}
	return res, nil
}

// Check compares an existing topic with the spec and returns its partition
// count and every difference, sorted by setting.
func Check(ctx context.Context, adm *kadm.Client, s Spec) (int32, []Mismatch, error) {
	details, err := adm.ListTopics(ctx, s.Name)
	if err != nil {
		return 0, nil, fmt.Errorf("topics: describe %q: %w", s.Name, err)
	}
	d, ok := details[s.Name]
	if !ok || d.Err != nil {
		return 0, nil, fmt.Errorf("topics: describe %q: %v", s.Name, d.Err)
	}
	have := int32(len(d.Partitions))
	required := map[string]bool{}
	for _, k := range s.Required {
		required[k] = true
	}
	var out []Mismatch
	if s.Partitions > 0 && have != s.Partitions {
		out = append(out, Mismatch{Setting: "partitions", Want: strconv.Itoa(int(s.Partitions)),
			Have: strconv.Itoa(int(have)), Required: required["partitions"]})
	}
	if len(s.Configs) == 0 {
		return have, out, nil
	}
	current, err := Configs(ctx, adm, s.Name)
	if err != nil {
		return have, nil, err
	}
	for k, want := range s.Configs {
		if got := current[k]; !sameSetting(k, got, want) {
			out = append(out, Mismatch{Setting: k, Want: want, Have: got, Required: required[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Setting < out[j].Setting })
	return have, out, nil
}

// Configs returns the topic's effective configs (defaults included).
func Configs(ctx context.Context, adm *kadm.Client, topic string) (map[string]string, error) {
	described, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("topics: describe configs of %q: %w", topic, err)
	}
	rc, err := described.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return nil, fmt.Errorf("topics: describe configs of %q: %w", topic, err)
	}
	out := make(map[string]string, len(rc.Configs))
	for _, c := range rc.Configs {
		out[c.Key] = c.MaybeValue()
	}
	return out, nil
}

// sameSetting compares config values, treating a list policy like
// "compact,delete" as a set.
func sameSetting(key, have, want string) bool {
	if key != "cleanup.policy" {
		return have == want
	}
	split := func(s string) string {
		parts := strings.Split(strings.ReplaceAll(s, " ", ""), ",")
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	return split(have) == split(want)
}

// EnsureSpecRetry calls EnsureSpec until it succeeds or ctx ends, waiting a
// second between attempts and reporting each failure to onRetry, so a service
// can start before its brokers are up. A required setting that differs is
// not retried: it returns at once.
func EnsureSpecRetry(ctx context.Context, adm *kadm.Client, s Spec, onRetry func(error)) (Result, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := EnsureSpec(tctx, adm, s)
		cancel()
		if err == nil || errors.Is(err, ErrMismatch) {
			return res, err
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		onRetry(err)
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// DefaultFlowRetention is how long the flow topic keeps events unless
// configured otherwise.
const DefaultFlowRetention = 7 * 24 * time.Hour

// FlowSpec is the scored-flow topic: an event log keyed by underlying, with
// as many partitions as the ticks topic, so an underlying's events sit in the
// partition of the same number as its ticks. It must not be compacted:
// compaction by underlying would keep one event per underlying.
func FlowSpec(name string, partitions int32, retention time.Duration) Spec {
	return Spec{
		Name:       name,
		Partitions: partitions,
		Configs: map[string]string{
			"cleanup.policy": "delete",
			"retention.ms":   strconv.FormatInt(retention.Milliseconds(), 10),
		},
		Required: []string{"cleanup.policy"},
	}
}

// StateSpec is a compacted state topic with partitions partitions, whose
// records may be as large as maxRecord bytes. Both the policy and the
// partition count are required: checkpoints are read by partition number.
func StateSpec(name string, partitions int32, maxRecord int) Spec {
	return Spec{
		Name:       name,
		Partitions: partitions,
		Configs: map[string]string{
			"cleanup.policy":    "compact",
			"max.message.bytes": strconv.Itoa(maxRecord),
		},
		Required: []string{"cleanup.policy", "partitions"},
	}
}

// DefaultDLQRetention is how long the dead-letter topic keeps records
// unless configured otherwise: long enough to fix the cause and replay them.
const DefaultDLQRetention = 14 * 24 * time.Hour

// Headers of a dead-letter record. Its key and value are the refused
// record's own, its partition the same number as the refused record's.
const (
	HeaderReason    = "reason"    // why it was refused, a counter's label
	HeaderError     = "error"     // the error in words
	HeaderTopic     = "topic"     // the refused record's topic,
	HeaderPartition = "partition" // partition (decimal)
	HeaderOffset    = "offset"    // and offset (decimal)
)

// DeadLetterSpec is a dead-letter topic beside a topic of partitions
// partitions: refused records keep their partition number, so the policy
// and the partition count are required. Compaction would keep one refused
// record per key.
func DeadLetterSpec(name string, partitions int32, retention time.Duration) Spec {
	return Spec{
		Name:       name,
		Partitions: partitions,
		Configs: map[string]string{
			"cleanup.policy": "delete",
			"retention.ms":   strconv.FormatInt(retention.Milliseconds(), 10),
		},
		Required: []string{"cleanup.policy", "partitions"},
	}
}

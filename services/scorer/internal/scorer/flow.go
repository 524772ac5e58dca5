package scorer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/flow"
)

// The flow topic carries every scored event as its own record, keyed by
// underlying. A batch's records are produced while its events are written to
// Redis, and the batch's offsets are marked for commit only once Kafka has
// acknowledged every record and Redis every event. A crash at any point
// therefore replays ticks rather than losing events: Redis skips what it
// holds, and the topic may receive an event again, under the same key.

// flowSink produces a batch's events to the flow topic. Only Run's
// goroutine calls its methods; produce callbacks touch err under mu.
type flowSink struct {
	cl    *kgo.Client
	topic string
	codec *flow.Codec
	recs  []*kgo.Record // the batch being produced

	mu  sync.Mutex
	err error // the first failed record of the batch
}

func newFlowSink(cfg Config) (*flowSink, error) {
	codec := cfg.FlowCodec
	if codec == nil {
		var err error
		if codec, err = flow.NewCodec(); err != nil {
			return nil, err
		}
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.DefaultProduceTopic(cfg.FlowTopic),
		// Each batch is flushed at once after the Redis write; lingering
		// would only delay the flush.
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return nil, fmt.Errorf("scorer: flow producer: %w", err)
	}
	return &flowSink{cl: cl, topic: cfg.FlowTopic, codec: codec}, nil
}

// add encodes an event for the batch. Keys are the underlying, so an
// underlying's events keep their order in one partition.
func (f *flowSink) add(e *flow.Event) error {
	b, err := f.codec.Encode(e)
	if err != nil {
		return err
	}
	f.recs = append(f.recs, &kgo.Record{Key: []byte(e.Underlying), Value: b})
	return nil
}

// produce starts producing the batch without waiting. The records do not
// take the Run context: a batch is finished or failed as a whole by wait,
// never cut short half-way by a shutdown.
func (f *flowSink) produce() {
	for _, r := range f.recs {
		f.cl.Produce(context.Background(), r, f.produced)
	}
}

func (f *flowSink) produced(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// errProduce is wrapped by wait's error when Kafka refused a record.
var errProduce = errors.New("scorer: flow record not produced")

// wait returns once Kafka acknowledged or failed every record of the batch,
// and resets the batch. It returns ctx's error if ctx ends first, and an
// error wrapping errProduce if a record failed: the client retries what can
// be retried, so what fails here (a record too large, a topic deleted, no
// authorization) needs an operator.
func (f *flowSink) wait(ctx context.Context) (int, error) {
	n := len(f.recs)
	if n == 0 {
		return 0, nil
	}
	if err := f.cl.Flush(ctx); err != nil {
		return 0, err
	}
	f.recs = f.recs[:0]
	f.mu.Lock()
	err := f.err
	f.err = nil
	f.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("%w to %q: %w", errProduce, f.topic, err)
	}
	return n, nil
}

// close waits a moment for records in flight, then closes the client.
func (f *flowSink) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.cl.Flush(ctx)
	f.cl.Close()
}

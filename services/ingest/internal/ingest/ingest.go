// Package ingest moves ticks from a feed source to the Kafka ticks topic.
package ingest

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Logger receives the pipeline's notable events; the service wires it to zap.
type Logger interface {
	Infow(msg string, keysAndValues ...any)
	Warnw(msg string, keysAndValues ...any)
}

// Producer is the part of the Kafka client the pipeline uses.
type Producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// Pipeline is the feed.Sink that stamps, encodes and produces ticks.
// It is safe for concurrent use.
type Pipeline struct {
	life     context.Context // bounds buffered records; outlives the feed so they can be flushed
	producer Producer
	topic    string
	codec    *tick.Codec
	metrics  *Metrics
	log      Logger
	now      func() time.Time
	rejected *svc.LogLimiter // bounds the "input rejected" lines per reason
}

// NewPipeline returns a Pipeline producing to topic. Records it has handed to
// the producer stay valid until life ends, so the caller can stop the feed,
// flush, and only then end life.
func NewPipeline(life context.Context, p Producer, topic string, m *Metrics, log Logger) (*Pipeline, error) {
	codec, err := tick.NewCodec()
	if err != nil {
		return nil, err
	}
	return &Pipeline{life: life, producer: p, topic: topic, codec: codec, metrics: m, log: log, now: time.Now,
		rejected: svc.NewLogLimiter(time.Second, 10)}, nil
}

// Tick stamps the ingest time, validates t (a tick stamped later than it
// was read, beyond clock skew, is refused) and produces it keyed by its
// underlying, so every tick of one underlying lands in one partition in order.
// Produce blocks when the client's buffer is full, which slows the feed
// rather than growing memory.
func (p *Pipeline) Tick(ctx context.Context, t *tick.Tick, _ int64) error {
	t.IngestTS = p.now().UnixNano()
	if err := t.Validate(); err != nil {
		p.Reject(rejectReason(err), err)
		return nil
	}
	if t.Conditions == nil {
		t.Conditions = []string{}
	}
	value, err := p.codec.Encode(t)
	if err != nil {
		p.Reject("encode", err)
		return nil
	}
	p.metrics.Ticks.WithLabelValues(string(t.Type)).Inc()
	rec := &kgo.Record{Topic: p.topic, Key: []byte(t.Underlying), Value: value}
	p.producer.Produce(p.life, rec, p.produced)
	return ctx.Err()
}

// rejectReason labels a tick that fails validation: "invalid" for a field
// missing or out of range, as the feeds' parsers say, and the tick's own
// reason for a time or an expiry that cannot be right.
func rejectReason(err error) string {
	switch r := tick.Reason(err); r {
	case tick.ReasonExpired, tick.ReasonFuture, tick.ReasonPast:
		return r
	}
	return "invalid"
}

func (p *Pipeline) produced(r *kgo.Record, err error) {
	if err != nil {
		p.metrics.ProduceErrors.Inc()
		p.log.Warnw("tick not produced", "key", string(r.Key), "err", err)
		return
	}
	p.metrics.Produced.Inc()
}

// Reject counts input that cannot be used and logs it, a few lines a second
// per reason at most; each line says how many were not logged before it.
func (p *Pipeline) Reject(reason string, err error) {
	p.metrics.Rejected.WithLabelValues(reason).Inc()
	if ok, held := p.rejected.Allow(reason); ok {
		p.log.Warnw("input rejected", "reason", reason, "err", err, "not_logged_before", held)
	}
}

// Package ingest moves ticks from a feed source to the Kafka ticks topic.
package ingest

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
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
// Tick may be called from one goroutine at a time.
type Pipeline struct {
	life     context.Context // bounds buffered records; outlives the feed so they can be flushed
	producer Producer
	topic    string
	codec    *tick.Codec
	metrics  *Metrics
	log      Logger
	now      func() time.Time
}

// NewPipeline returns a Pipeline producing to topic. Records it has handed to
// the producer stay valid until life ends, so the caller can stop the feed,
// flush, and only then end life.
func NewPipeline(life context.Context, p Producer, topic string, m *Metrics, log Logger) (*Pipeline, error) {
	codec, err := tick.NewCodec()
	if err != nil {
		return nil, err
	}
	return &Pipeline{life: life, producer: p, topic: topic, codec: codec, metrics: m, log: log, now: time.Now}, nil
}

// Tick validates t, stamps the ingest time and produces it keyed by its
// underlying, so every tick of one underlying lands in one partition in order.
// Produce blocks when the client's buffer is full, which slows the feed
// rather than growing memory.
func (p *Pipeline) Tick(ctx context.Context, t *tick.Tick) error {
	if err := t.Validate(); err != nil {
		p.Reject("invalid", err)
		return nil
	}
	t.IngestTS = p.now().UnixNano()
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

func (p *Pipeline) produced(r *kgo.Record, err error) {
	if err != nil {
		p.metrics.ProduceErrors.Inc()
		p.log.Warnw("tick not produced", "key", string(r.Key), "err", err)
		return
	}
	p.metrics.Produced.Inc()
}

// Reject counts and logs input that cannot be used.
func (p *Pipeline) Reject(reason string, err error) {
	p.metrics.Rejected.WithLabelValues(reason).Inc()
	p.log.Warnw("input rejected", "reason", reason, "err", err)
}

// Metrics are the ingest service's Prometheus series.
type Metrics struct {
	Ticks         *prometheus.CounterVec // by type
	Rejected      *prometheus.CounterVec // by reason
	Produced      prometheus.Counter
	ProduceErrors prometheus.Counter
	FeedRestarts  prometheus.Counter
	BreakerState  prometheus.Gauge
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Ticks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_ingest_ticks_total", Help: "Ticks accepted from the feed, by type.",
		}, []string{"type"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_ingest_rejected_total",
			Help: "Feed input rejected, by reason (malformed, unknown_type, bad_symbol, invalid, encode).",
		}, []string{"reason"}),
		Produced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_ingest_produced_total", Help: "Ticks acknowledged by Kafka.",
		}),
		ProduceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_ingest_produce_errors_total", Help: "Ticks Kafka did not acknowledge.",
		}),
		FeedRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_ingest_feed_restarts_total", Help: "Times the feed failed and was started again.",
		}),
		BreakerState: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_ingest_feed_breaker_state",
			Help: "Circuit breaker around the feed: 0 closed, 1 half-open, 2 open.",
		}),
	}
	reg.MustRegister(m.Ticks, m.Rejected, m.Produced, m.ProduceErrors, m.FeedRestarts, m.BreakerState)
	return m
}

// RunFeed runs src into sink until the feed ends or ctx does. When the source
// fails it is started again after a jittered, growing delay; after
// tripAfter consecutive failures a circuit breaker opens and holds new
// attempts off for coolDown, so a broken upstream is not hammered.
func RunFeed(ctx context.Context, src feed.Source, sink feed.Sink, m *Metrics, log Logger,
	tripAfter uint32, coolDown time.Duration) error {
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        src.Name(),
		MaxRequests: 1,
		Timeout:     coolDown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= tripAfter },
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, context.Canceled)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			m.BreakerState.Set(float64(to))
			log.Warnw("feed circuit breaker changed state", "feed", name, "from", from.String(), "to", to.String())
		},
	})

	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		_, err := cb.Execute(func() (struct{}, error) { return struct{}{}, src.Run(ctx, sink) })
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			log.Infow("feed finished", "feed", src.Name())
			return nil
		}
		if time.Since(started) > time.Minute {
			backoff = 100 * time.Millisecond // it ran well for a while: start over
		}
		if !errors.Is(err, gobreaker.ErrOpenState) {
			m.FeedRestarts.Inc()
			log.Warnw("feed failed; restarting", "feed", src.Name(), "in", backoff, "err", err)
		}
		if err := sleep(ctx, jitter(backoff)); err != nil {
			return nil
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// jitter spreads d over [d/2, d) so many clients restarting together do not
// retry in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
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

// Package scorer consumes ticks from Kafka as a member of a consumer group,
// scores them, appends the events to the Redis shard streams and produces
// them to the flow topic, committing offsets only after Redis and Kafka have
// acknowledged the events.
package scorer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Config is what the scorer needs besides its clients.
type Config struct {
	Brokers []string
	Topic   string
	// TopicID identifies the topic in the streams' applied-offset records, so
	// a topic deleted and created again under the same name starts afresh
	// instead of having its first offsets skipped. Empty means the name.
	TopicID  string
	Group    string
	MaxPoll  int          // records per poll; 0 means 10,000
	Scoring  score.Config // engine thresholds
	ClientID string

	// StateTopic is the compacted topic that holds checkpoints of the
	// engines' state, partitioned like Topic. Empty turns checkpoints off:
	// a partition's new owner then replays it from its start.
	StateTopic string
	// CheckpointEvery is how often changed state is saved; 0 means 5 s.
	CheckpointEvery time.Duration
	// SessionTimeout is how long the group waits for a silent member before
	// giving its partitions to the others; 0 means the client's default.
	SessionTimeout time.Duration

	// FlowTopic receives every scored event as an Avro record keyed by
	// underlying. Empty turns it off.
	FlowTopic string
	// FlowCodec encodes the flow records; nil means single-object
	// encoding. A codec set up for a schema registry frames them for it.
	FlowCodec *flow.Codec
	// TickCodec decodes ticks; nil means single-object encoding only.
	TickCodec *tick.Codec

	// DeadLetterTopic receives the records the scorer cannot use, with the
	// reason in a header; it must have as many partitions as Topic. Empty
	// keeps no dead letters: they are only counted and logged.
	DeadLetterTopic string
}

// Logger receives the scorer's notable events; the service wires it to zap.
type Logger interface {
	Warnw(msg string, keysAndValues ...any)
	Infow(msg string, keysAndValues ...any)
}

// Scorer runs the consume-score-write loop. Create it with New, then Run.
type Scorer struct {
	cfg     Config
	cl      *kgo.Client
	w       *stream.Writer
	flow    *flowSink // nil when Config.FlowTopic is empty
	dead    *deadLetters
	codec   *tick.Codec
	log     Logger
	metrics *Metrics
	now     func() time.Time

	rejectLog *svc.LogLimiter

	// mu guards engines and resume, which the rebalance callbacks change
	// from another goroutine. With BlockRebalanceOnPoll they only run
	// between batches.
	mu      sync.Mutex
	engines map[int32]*score.Engine
	resume  map[int32]int64 // per partition, the committed offset: below it events are written already

	last       map[int32]int64 // per partition, the last offset scored; owned by Run
	checkpoint time.Time       // when the last checkpoint started; owned by Run
	cut        *cut            // the checkpoint in progress; owned by Run
}

// New creates the Kafka client and joins nothing yet: the group is joined on
// the first poll in Run.
func New(cfg Config, w *stream.Writer, log Logger, m *Metrics) (*Scorer, error) {
	if _, err := score.New(cfg.Scoring); err != nil {
		return nil, err
	}
	if cfg.MaxPoll == 0 {
		cfg.MaxPoll = 10_000
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = 5 * time.Second
	}
	codec := cfg.TickCodec
	if codec == nil {
		var err error
		if codec, err = tick.NewCodec(); err != nil {
			return nil, err
		}
	}
	s := &Scorer{
		cfg: cfg, w: w, codec: codec, log: log, metrics: m, now: time.Now,
		engines: make(map[int32]*score.Engine), resume: make(map[int32]int64),
		last: make(map[int32]int64), rejectLog: newRejectLog(),
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		// Offsets are marked once their events are in Redis and committed in
		// the background, and before partitions are given up: a commit round
		// trip per batch would add to every event's latency.
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(time.Second),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.dropped),
		kgo.AdjustFetchOffsetsFn(s.restore),
		// Checkpoints go to the state topic's partition of the same number.
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(maxStateRecord),
	}
	if cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout))
	}
	if cfg.FlowTopic != "" {
		f, err := newFlowSink(cfg)
		if err != nil {
			return nil, err
		}
		s.flow = f
	}
	var err error
	s.cl, err = kgo.NewClient(opts...)
	if err != nil {
		if s.flow != nil {
			s.flow.close()
		}
		return nil, fmt.Errorf("scorer: kafka client: %w", err)
	}
	s.dead = &deadLetters{cl: s.cl, topic: cfg.DeadLetterTopic}
	return s, nil
}

// Client exposes the Kafka client for readiness checks.
func (s *Scorer) Client() *kgo.Client { return s.cl }

// Run consumes until ctx ends, then commits what it marked, leaves the group
// and closes the client. Events of a batch reach Redis and the flow topic
// before its offsets are marked for commit, so a crash at any point replays
// ticks rather than losing them; the idempotent stream writer turns the
// replay into no new entries, while the flow topic may receive events again
// under the same keys. Run returns an error only when Kafka refuses a flow
// record for good; the batch's offsets are then not committed.
//
// A batch in flight when ctx ends is finished, within inflightGrace: its
// events written and acknowledged, its offsets committed. A write that
// fails after ctx ended is not retried; the next owner replays the batch.
func (s *Scorer) Run(ctx context.Context) error {
	work, endWork := context.WithCancel(context.WithoutCancel(ctx))
	defer endWork()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(inflightGrace, endWork) })()
	defer func() {
		if s.flow != nil {
			s.flow.close()
		}
		// A poll that returned as ctx ended still blocks rebalances. The
		// client holds commits back while the group joins and syncs, and a
		// join in progress waits for that block, so the commit below would
		// wait out its deadline, and Close, which leaves the group, forever.
		// Revoking partitions commits what was marked, so letting a
		// rebalance run first loses nothing.
		s.cl.AllowRebalance()
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.cl.CommitMarkedOffsets(cctx); err != nil {
			s.log.Warnw("final offset commit failed; ticks will be replayed", "err", err)
		}
		cancel()
		s.cl.Close()
	}()
	var batch stream.Batch
	var events []flow.Event
	var written []written
	for {
		fetches := s.poll(ctx)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				s.log.Warnw("fetch failed", "topic", topic, "partition", p, "err", err)
			}
		})

		batch.Reset()
		written = written[:0]
		fetches.EachRecord(func(r *kgo.Record) {
			events = s.score(r, events[:0], &batch)
			for i := range events {
				written = append(written, newWritten(&events[i]))
			}
		})
		if s.flow != nil {
			s.flow.produce()
		}
		if err := s.write(ctx, work, &batch); err != nil {
			return nil // ctx ended mid-retry; the next owner replays the batch
		}
		if err := s.waitFlow(work); err != nil {
			if work.Err() != nil {
				return nil // as above
			}
			return err
		}
		if err := s.waitDeadLetters(work); err != nil {
			return nil // as above
		}
		s.observe(written)
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				s.cl.MarkCommitRecords(p.Records[n-1])
			}
		})
		if s.cfg.StateTopic != "" {
			s.stepCheckpoint(ctx)
		}
		s.cl.AllowRebalance()
	}
}

// poll waits for records. While a checkpoint is in progress it waits at
// most a moment, so a quiet topic does not hold the checkpoint up.
func (s *Scorer) poll(ctx context.Context) kgo.Fetches {
	if s.cut == nil {
		return s.cl.PollRecords(ctx, s.cfg.MaxPoll)
	}
	pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	return s.cl.PollRecords(pctx, s.cfg.MaxPoll)
}

// score decodes and scores one record and adds its events to the batch.
func (s *Scorer) score(r *kgo.Record, events []flow.Event, batch *stream.Batch) []flow.Event {
	var t tick.Tick
	if err := s.codec.Decode(r.Value, &t); err != nil {
		s.reject(tick.Reason(err), r, err)
		return events
	}
	s.metrics.Ticks.WithLabelValues(string(t.Type)).Inc()

	src := score.Source{Partition: r.Partition, Offset: r.Offset}
	s.last[r.Partition] = r.Offset
	eng, resume := s.engine(r.Partition)
	events, err := eng.Apply(&t, src, s.now().UnixNano(), events)
	if err != nil {
		s.rejectTick(r, err)
		return events
	}
	if len(events) == 0 || r.Offset < resume {
		// Below the committed offset a restored engine only catches up:
		// those events are in Redis already.
		return events[:0]
	}

	payloads := make([][]byte, 0, len(events))
	for i := range events {
		events[i].Finish()
		events[i].Reasons = score.Reasons(&events[i])
		b, err := events[i].JSON()
		if err != nil {
			s.reject("encode", r, err)
			return events
		}
		payloads = append(payloads, b)
	}
	if s.flow != nil {
		if err := s.addFlow(events); err != nil {
			s.reject("encode", r, err)
			return events
		}
	}
	source := s.cfg.TopicID
	if source == "" {
		source = r.Topic
	}
	s.add(batch, source, r, events, payloads)
	return events
}

// add queues a tick's events, each in the shard of its own underlying: the
// tick's time may close windows of other underlyings of its partition, and
// their subscribers read those shards. A tick's events for one shard go in
// one group, so the shard's applied offset covers them together.
func (s *Scorer) add(batch *stream.Batch, source string, r *kgo.Record, events []flow.Event, payloads [][]byte) {
	type group struct {
		shard   int
		entries []stream.Routed
	}
	var groups []group
	for i := range events {
		u := events[i].Underlying
		shard := stream.Shard(u, s.w.Shards())
		j := 0
		for j < len(groups) && groups[j].shard != shard {
			j++
		}
		if j == len(groups) {
			groups = append(groups, group{shard: shard})
		}
		groups[j].entries = append(groups[j].entries, stream.Routed{Underlying: u, Event: payloads[i]})
	}
	for _, g := range groups {
		batch.AddEntries(g.shard, source, r.Partition, r.Offset, g.entries...)
	}
}

// addFlow adds a tick's events to the flow batch, all or none, so a tick is
// in both sinks or in neither.
func (s *Scorer) addFlow(events []flow.Event) error {
	n := len(s.flow.recs)
	for i := range events {
		if err := s.flow.add(&events[i]); err != nil {
			s.flow.recs = s.flow.recs[:n]
			return err
		}
	}
	return nil
}

// waitFlow waits for Kafka to acknowledge the batch's flow records.
func (s *Scorer) waitFlow(ctx context.Context) error {
	if s.flow == nil {
		return nil
	}
	start := s.now()
	n, err := s.flow.wait(ctx)
	if err != nil {
		if errors.Is(err, errProduce) {
			s.metrics.FlowErrors.Inc()
		}
		return err
	}
	if n > 0 {
		s.metrics.FlowRecords.Add(float64(n))
		s.metrics.FlowWaitTime.Observe(s.now().Sub(start).Seconds())
	}
	return nil
}

// written is what the metrics need of an event once Redis holds it.
type written struct {
	kind     string
	ingestTS int64
}

func newWritten(e *flow.Event) written { return written{kind: e.Kind, ingestTS: e.IngestTS} }

// observe counts events Redis acknowledged and how old their ticks were by
// then. Events of replayed ticks are counted too; the duplicates counter
// says how many of them Redis already held.
func (s *Scorer) observe(events []written) {
	now := s.now().UnixNano()
	for _, e := range events {
		s.metrics.Events.WithLabelValues(e.kind).Inc()
		if e.ingestTS > 0 {
			s.metrics.TickAge.Observe(float64(now-e.ingestTS) / 1e9)
		}
	}
}

// inflightGrace bounds how long Run, once its context ended, still works on
// the batch in flight.
const inflightGrace = 5 * time.Second

// write retries with capped exponential backoff until Redis takes the batch or
// ctx ends. While it retries no offsets are committed and nothing new is
// polled, so a Redis outage pauses consumption instead of losing events.
// Each attempt runs under work, which outlives ctx a little, so an attempt
// under way when ctx ends completes.
func (s *Scorer) write(ctx, work context.Context, batch *stream.Batch) error {
	if batch.Len() == 0 {
		return nil
	}
	backoff := 50 * time.Millisecond
	for {
		start := s.now()
		added, err := s.w.Write(work, batch)
		if err == nil {
			s.metrics.WriteTime.Observe(s.now().Sub(start).Seconds())
			s.metrics.Duplicates.Add(float64(batch.Len() - added))
			return nil
		}
		s.metrics.RedisErrors.Inc()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warnw("redis write failed; retrying", "events", batch.Len(), "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// engine returns the engine of a partition and the offset below which its
// events are not written.
func (s *Scorer) engine(p int32) (*score.Engine, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.engines[p]
	if !ok {
		e = s.newEngine()
		s.engines[p] = e
	}
	return e, s.resume[p]
}

// newEngine returns an engine; the config was validated in New, so it
// cannot fail.
func (s *Scorer) newEngine() *score.Engine {
	e, _ := score.New(s.cfg.Scoring)
	return e
}

func (s *Scorer) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	s.log.Infow("partitions assigned", "partitions", assigned[s.cfg.Topic])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics.Partitions.Add(float64(len(assigned[s.cfg.Topic])))
}

// revoked commits what was marked before the partitions go, so their new
// owner does not replay events that are in Redis already, and forgets them.
func (s *Scorer) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		s.log.Warnw("commit before giving partitions up failed; their new owner will replay ticks", "err", err)
	}
	s.dropped(ctx, cl, revoked)
}

// dropped forgets the state of partitions this scorer no longer owns; their
// new owner restores it from the state topic.
func (s *Scorer) dropped(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.log.Infow("partitions released", "partitions", lost[s.cfg.Topic])
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range lost[s.cfg.Topic] {
		delete(s.engines, p)
		delete(s.resume, p)
		delete(s.last, p)
	}
	s.metrics.Partitions.Sub(float64(len(lost[s.cfg.Topic])))
}

// ErrNoBrokers is returned by Ping when no broker answers.
var ErrNoBrokers = errors.New("scorer: no Kafka broker answers")

// Ping checks that a broker answers, for the readiness endpoint.
func (s *Scorer) Ping(ctx context.Context) error {
	if err := s.cl.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrNoBrokers, err)
	}
	return nil
}

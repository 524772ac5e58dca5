package scorer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/pkg/topics"
)

// A record the scorer cannot use (it does not decode, or its tick is
// impossible) is skipped, so one poison record never holds its partition
// up. It is counted by reason, logged at a bounded rate and produced to the
// dead-letter topic with its key, value and partition number, the reason
// and its place in headers. A batch's offsets are marked only once its dead
// letters are acknowledged: a refused record is set aside, never lost. A
// dead letter Kafka refuses for good is counted and logged with the
// record's place, and the batch goes on: the record is still in the ticks
// topic until retention removes it.

// rejectLogBurst and rejectLogEvery bound the "record skipped" lines per
// reason: a flood of bad records costs a few lines a second.
const (
	rejectLogBurst = 10
	rejectLogEvery = time.Second
)

// deadLetters produces a batch's refused records. Only Run's goroutine
// calls its methods; produce callbacks touch the fields under mu.
type deadLetters struct {
	cl    *kgo.Client // the scorer's client, whose partitioner is manual
	topic string      // "" keeps no dead letters

	mu      sync.Mutex
	pending int
	failed  []failedLetter
	settled chan struct{} // closed when pending drops to 0 while wait waits
}

type failedLetter struct {
	r   *kgo.Record
	err error
}

// add produces a dead letter of r without waiting.
func (d *deadLetters) add(r *kgo.Record, reason string, cause error) {
	if d.topic == "" {
		return
	}
	headers := append(r.Headers[:len(r.Headers):len(r.Headers)],
		kgo.RecordHeader{Key: topics.HeaderReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: topics.HeaderError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: topics.HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: topics.HeaderPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: topics.HeaderOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
	)
	letter := &kgo.Record{Topic: d.topic, Partition: r.Partition, Key: r.Key, Value: r.Value,
		Headers: headers, Timestamp: r.Timestamp}
	d.mu.Lock()
	d.pending++
	d.mu.Unlock()
	// Not the Run context: a dead letter is acknowledged or refused, never
	// abandoned half-way by a shutdown; wait bounds how long Run waits.
	d.cl.Produce(context.Background(), letter, func(_ *kgo.Record, err error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if err != nil {
			d.failed = append(d.failed, failedLetter{r: r, err: err})
		}
		d.pending--
		if d.pending == 0 && d.settled != nil {
			close(d.settled)
			d.settled = nil
		}
	})
}

// wait returns once every dead letter produced so far is acknowledged or
// refused, and returns the refused ones; or ctx's error if ctx ends first.
func (d *deadLetters) wait(ctx context.Context) ([]failedLetter, error) {
	d.mu.Lock()
	if d.pending == 0 {
		failed := d.failed
		d.failed = nil
		d.mu.Unlock()
		return failed, nil
	}
	settled := make(chan struct{})
	d.settled = settled
	d.mu.Unlock()
	select {
	case <-settled:
		return d.wait(ctx)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reject counts a record the scorer skips, logs it at a bounded rate and
// sets it aside in the dead-letter topic.
func (s *Scorer) reject(reason string, r *kgo.Record, err error) {
	s.metrics.Rejected.WithLabelValues(reason).Inc()
	s.dead.add(r, reason, err)
	if ok, held := s.rejectLog.Allow(reason); ok {
		s.log.Warnw("record skipped", "reason", reason, "partition", r.Partition, "offset", r.Offset,
			"err", err, "dead_letter_topic", s.dead.topic, "not_logged_before", held)
	}
}

// rejectTick is reject for a tick the engine refused: the tick's reason, or
// "invalid" for anything else the engine could not use.
func (s *Scorer) rejectTick(r *kgo.Record, err error) {
	reason := "invalid"
	var inv *tick.InvalidError
	if errors.As(err, &inv) {
		reason = inv.Reason
	}
	s.reject(reason, r, err)
}

// waitDeadLetters waits for the batch's dead letters, counting and logging
// those Kafka refused.
func (s *Scorer) waitDeadLetters(ctx context.Context) error {
	failed, err := s.dead.wait(ctx)
	for _, f := range failed {
		s.metrics.DeadLetterErrors.Inc()
		s.log.Warnw("dead letter refused by Kafka; the record stays only in its own topic",
			"dead_letter_topic", s.dead.topic, "partition", f.r.Partition, "offset", f.r.Offset, "err", f.err)
	}
	return err
}

// newRejectLog returns the limiter of "record skipped" lines.
func newRejectLog() *svc.LogLimiter { return svc.NewLogLimiter(rejectLogEvery, rejectLogBurst) }

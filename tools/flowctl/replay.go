package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/pkg/topics"
)

type replayFlags struct {
	conn       connection
	tape       string
	topic      string
	speed      float64
	partitions int
}

// runReplay produces a tape into the ticks topic as ingest would: each tick
// validated, stamped with the time it was read, encoded as single-object
// Avro (the only framing scorers read ticks in) and keyed by underlying. The
// tape's pace is kept, scaled by -speed.
func runReplay(ctx context.Context, e env, args []string) error {
	var f replayFlags
	fs := newFlags(e, "replay", "[flags] TAPE.ndjson")
	f.conn.register(fs, e, false)
	fs.StringVar(&f.topic, "topic", topics.Ticks, "topic to produce the ticks to")
	fs.Float64Var(&f.speed, "speed", 1, "pace multiplier: 1 keeps the tape's pace, 10 is ten times faster, 0 as fast as Kafka takes it")
	fs.IntVar(&f.partitions, "partitions", topics.DefaultPartitions, "partitions of the topic if replay creates it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.check(fs.Args()); err != nil {
		return err
	}
	lines, err := countLines(f.tape)
	if err != nil {
		return err
	}
	codec, err := tick.NewCodec()
	if err != nil {
		return err
	}
	cl, err := f.conn.client(ctx, kgo.DefaultProduceTopic(f.topic), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := topics.Ensure(ctx, kadm.NewClient(cl), f.topic, int32(f.partitions), nil); err != nil {
		return err
	}

	r := &replayer{e: e, f: f, cl: cl, codec: codec, now: time.Now}
	if e.tty {
		r.bar = newBar(e, lines, "replaying "+f.tape, progressbar.OptionShowIts())
	}
	return r.run(ctx)
}

func (f *replayFlags) check(args []string) error {
	if err := f.conn.check(); err != nil {
		return err
	}
	switch {
	case len(args) != 1:
		return usagef("want one tape file, got %d arguments", len(args))
	case f.speed < 0:
		return usagef("-speed %v: want 0 (as fast as possible) or more", f.speed)
	case f.topic == "":
		return usagef("-topic is empty")
	case f.partitions < 1:
		return usagef("-partitions %d: want at least 1", f.partitions)
	}
	f.tape = args[0]
	return nil
}

// countLines counts the tape's lines for the progress bar, and fails early
// on a tape that cannot be read.
func countLines(path string) (int64, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	var n int64
	buf := make([]byte, 64<<10)
	for {
		k, err := file.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

type replayer struct {
	e     env
	f     replayFlags
	cl    *kgo.Client
	codec *tick.Codec
	bar   *progressbar.ProgressBar
	now   func() time.Time

	mu       sync.Mutex
	failed   int   // records Kafka refused
	firstErr error // the first of them
}

func (r *replayer) run(ctx context.Context) error {
	file, err := os.Open(r.f.tape)
	if err != nil {
		return err
	}
	defer file.Close()
	rd := tape.NewReader(bufio.NewReader(file))
	began := r.now()
	var start time.Time
	var first int64
	var sent, rejected int
	for {
		t, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		r.step()
		var le *tape.LineError
		if errors.As(err, &le) {
			rejected++
			r.warnf("%v (skipped)", le)
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", r.f.tape, err)
		}
		if r.f.speed > 0 {
			if start.IsZero() {
				start, first = r.now(), t.TS
			}
			due := start.Add(time.Duration(float64(t.TS-first) / r.f.speed))
			if err := sleep(ctx, due.Sub(r.now())); err != nil {
				break
			}
		}
		t.IngestTS = r.now().UnixNano()
		b, err := r.codec.Encode(&t)
		if err != nil {
			rejected++
			r.warnf("tick at %s: %v (skipped)", stamp(t.TS), err)
			continue
		}
		r.cl.Produce(ctx, &kgo.Record{Key: []byte(t.Underlying), Value: b}, r.produced)
		sent++
	}
	// Buffered records are flushed even after an interrupt, within a bound.
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.cl.Flush(fctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if r.bar != nil {
		_ = r.bar.Finish()
	}
	r.mu.Lock()
	failed, firstErr := r.failed, r.firstErr
	r.mu.Unlock()
	fmt.Fprintf(r.e.stderr, "flowctl replay: %d ticks produced to %s, %d lines rejected, %d refused by Kafka, in %s\n",
		sent-failed, r.f.topic, rejected, failed, r.now().Sub(began).Round(time.Millisecond))
	if failed > 0 {
		return fmt.Errorf("%d ticks were not produced: %w", failed, firstErr)
	}
	return ctx.Err()
}

// warnf reports a skipped line on its own line, clearing the progress bar
// first so the two do not share a line.
func (r *replayer) warnf(format string, a ...any) {
	if r.bar != nil {
		_ = r.bar.Clear()
	}
	fmt.Fprintf(r.e.stderr, "flowctl replay: "+format+"\n", a...)
}

func (r *replayer) step() {
	if r.bar != nil {
		_ = r.bar.Add(1)
	}
}

func (r *replayer) produced(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

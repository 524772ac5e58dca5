package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

// File replays a tape. It keeps the tape's pace, scaled by Speed: 2 replays
// twice as fast, 0 as fast as the sink takes ticks.
type File struct {
	Path  string
	Speed float64

	// TODO: the position lives in memory only, so a restarted ingest replays
	// its tape from the first line and produces again the ticks Kafka holds
	// already, as new ticks; resuming would need the position kept outside
	// the process, or read back from the topic.
	emitted int // tape entries handled by earlier runs, skipped when Run is called again
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
}

// NewFile returns a File source. speed must not be negative.
func NewFile(path string, speed float64) (*File, error) {
	if speed < 0 {
		return nil, fmt.Errorf("feed: replay speed %v is negative", speed)
	}
	return &File{Path: path, Speed: speed, now: time.Now, sleep: sleepCtx}, nil
}

// Name implements Source.
func (f *File) Name() string { return "file:" + f.Path }

// Run implements Source. A rejected line is reported to the sink with its line
// number and the replay goes on.
func (f *File) Run(ctx context.Context, sink Sink) error {
	file, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	defer file.Close()

	r := tape.NewReader(file)
	var start time.Time
	var first int64
	for n := 0; ; n++ {
		t, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if n < f.emitted {
			continue
		}
		var le *tape.LineError
		if errors.As(err, &le) {
			sink.Reject(le.Reason, le)
			f.emitted++
			continue
		}
		if err != nil {
			return fmt.Errorf("feed: read %s: %w", f.Path, err)
		}

		// A tick stamped after now is refused by the sink; waiting for its
		// time would stall the replay for as long as it lies ahead.
		if f.Speed > 0 && t.TS <= f.now().Add(tick.MaxSkew).UnixNano() {
			if start.IsZero() {
				start, first = f.now(), t.TS
			}
			due := start.Add(time.Duration(float64(t.TS-first) / f.Speed))
			if err := f.sleep(ctx, due.Sub(f.now())); err != nil {
				return err
			}
		}
		if err := sink.Tick(ctx, &t, 0); err != nil {
			return err
		}
		f.emitted++
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
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

var _ Source = (*File)(nil)

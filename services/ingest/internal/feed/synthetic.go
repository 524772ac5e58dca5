package feed

import (
	"context"
	"fmt"
	"time"

	"github.com/liveflow/liveflow/pkg/synth"
)

// Synthetic paces a synth.Generator at a rate in ticks per second. With a
// burst factor above 1, the first BurstFor of the run goes that many times
// faster, as the market open does.
type Synthetic struct {
	gen         *synth.Generator
	rate        float64
	burstFactor float64
	burstFor    time.Duration
	now         func() time.Time
}

// SyntheticConfig configures a Synthetic source.
type SyntheticConfig struct {
	Generator   synth.Config
	Rate        float64       // ticks per second, > 0
	BurstFactor float64       // rate multiplier during the burst; 0 or 1 means none
	BurstFor    time.Duration // length of the burst at the start of the run
}

// NewSynthetic checks the config and builds the generator.
func NewSynthetic(cfg SyntheticConfig) (*Synthetic, error) {
	if cfg.Rate <= 0 {
		return nil, fmt.Errorf("feed: synthetic rate %v ticks/s must be positive", cfg.Rate)
	}
	if cfg.BurstFactor < 0 || cfg.BurstFor < 0 {
		return nil, fmt.Errorf("feed: burst factor %v and duration %s must not be negative",
			cfg.BurstFactor, cfg.BurstFor)
	}
	if cfg.BurstFactor == 0 {
		cfg.BurstFactor = 1
	}
	gen, err := synth.New(cfg.Generator)
	if err != nil {
		return nil, err
	}
	return &Synthetic{
		gen: gen, rate: cfg.Rate, burstFactor: cfg.BurstFactor, burstFor: cfg.BurstFor, now: time.Now,
	}, nil
}

// Name implements Source.
func (s *Synthetic) Name() string { return "synthetic" }

// Underlyings returns the generated roots, busiest first.
func (s *Synthetic) Underlyings() []string { return s.gen.Underlyings() }

// due returns how many ticks should have been sent after elapsed.
func (s *Synthetic) due(elapsed time.Duration) float64 {
	n := s.rate * elapsed.Seconds()
	burst := min(elapsed, s.burstFor)
	return n + s.rate*(s.burstFactor-1)*burst.Seconds()
}

// Run implements Source. It never ends on its own. Every millisecond it sends
// the ticks that have fallen due; when the sink cannot keep up for more than
// a second, the schedule moves on instead of piling up a backlog.
func (s *Synthetic) Run(ctx context.Context, sink Sink) error {
	start := s.now()
	sent := 0.0
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tk.C:
		}
		now := s.now()
		due := s.due(now.Sub(start))
		if behind := due - sent; behind > s.rate*s.burstFactor {
			sent = due - s.rate*s.burstFactor
		}
		for ; sent+1 <= due; sent++ {
			t := s.gen.Next(now.UnixNano())
			if err := sink.Tick(ctx, &t, 0); err != nil {
				return err
			}
		}
	}
}

var _ Source = (*Synthetic)(nil)

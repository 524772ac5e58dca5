package feed

import (
	"context"
	"testing"
	"time"
)

func TestSyntheticSchedule(t *testing.T) {
	s, err := NewSynthetic(SyntheticConfig{Rate: 1000, BurstFactor: 10, BurstFor: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 10x for the first 2 s, then 1x: 1 s in is 10,000 ticks, 3 s in 21,000.
	if got := s.due(time.Second); got != 10_000 {
		t.Errorf("due(1s) = %v, want 10000", got)
	}
	if got := s.due(3 * time.Second); got != 21_000 {
		t.Errorf("due(3s) = %v, want 21000", got)
	}
}

func TestSyntheticRunsAtItsRate(t *testing.T) {
	s, err := NewSynthetic(SyntheticConfig{Rate: 5000})
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx, &rec); err != context.DeadlineExceeded {
		t.Fatalf("Run = %v, want the deadline", err)
	}
	// 5,000/s for 0.3 s is 1,500 ticks; allow for a slow, shared machine.
	if n := len(rec.ticks); n < 900 || n > 1600 {
		t.Errorf("sent %d ticks in 300ms at 5000/s, want about 1500", n)
	}
	for _, tk := range rec.ticks {
		if err := tk.Validate(); err != nil {
			t.Fatalf("synthetic tick does not validate: %v (%+v)", err, tk)
		}
	}
}

func TestSyntheticRejectsBadConfig(t *testing.T) {
	for _, cfg := range []SyntheticConfig{{Rate: 0}, {Rate: -1}, {Rate: 1, BurstFactor: -2}, {Rate: 1, BurstFor: -time.Second}} {
		if _, err := NewSynthetic(cfg); err == nil {
			t.Errorf("NewSynthetic(%+v) accepted", cfg)
		}
	}
}

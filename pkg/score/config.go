package score

import (
	"fmt"
	"math"
	"time"
)

// Config holds the thresholds and weights of the engine. Every zero field
// means its documented default, so the zero Config is the published rule set.
type Config struct {
	BlockSize    int64   // a print of at least this many contracts is a block; default 500
	BlockPremium float64 // or of at least this premium, USD; default 100,000

	// SweepWindow is how long after an order's first fill further fills of
	// the same contract and side still belong to it; default 300 ms.
	SweepWindow time.Duration

	GoldenPremium float64 // a sweep of at least this premium, USD, can be golden; default 1,000,000
	NearMoneyPct  float64 // and must be at most this far from the money, percent; default 5

	// A print is unusual when the contract's volume today exceeds its open
	// interest, or when it is at least UnusualSizeFactor times the contract's
	// average print after at least UnusualMinPrints prints.
	UnusualSizeFactor float64 // default 5
	UnusualMinPrints  int     // default 20

	RepeatedCount  int           // aggressive orders in one contract that make repeated hits; default 5
	RepeatedWindow time.Duration // within this time from the first; default 60 s

	SpreadWindow time.Duration // multi-leg prints within this time form one spread; default 50 ms

	Weights Weights
}

// Weights are the most points each part of the score can give. Zero means the
// default; a negative weight turns the part off.
type Weights struct {
	Premium    int32 // default 30
	Aggression int32 // default 15
	VolumeOI   int32 // default 15
	DTE        int32 // default 10
	Moneyness  int32 // default 10
	Sweep      int32 // default 15
	Golden     int32 // on top of Sweep; default 10
	Split      int32 // default 5
	Block      int32 // default 10
	Repeated   int32 // default 10
	Unusual    int32 // default 10
}

// Validate explains the first unusable setting.
func (c Config) Validate() error {
	for name, v := range map[string]float64{
		"block premium": c.BlockPremium, "golden premium": c.GoldenPremium,
		"near-money percent": c.NearMoneyPct, "unusual size factor": c.UnusualSizeFactor,
	} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("score: %s %v must be a finite, non-negative number", name, v)
		}
	}
	switch {
	case c.BlockSize < 0:
		return fmt.Errorf("score: block size %d is negative", c.BlockSize)
	case c.UnusualMinPrints < 0:
		return fmt.Errorf("score: unusual minimum prints %d is negative", c.UnusualMinPrints)
	case c.RepeatedCount < 0 || c.RepeatedCount == 1:
		return fmt.Errorf("score: repeated count %d: want at least 2", c.RepeatedCount)
	case c.SweepWindow < 0 || c.RepeatedWindow < 0 || c.SpreadWindow < 0:
		return fmt.Errorf("score: windows must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.BlockSize == 0 {
		c.BlockSize = 500
	}
	def(&c.BlockPremium, 100_000)
	def(&c.GoldenPremium, 1_000_000)
	def(&c.NearMoneyPct, 5)
	def(&c.UnusualSizeFactor, 5)
	if c.UnusualMinPrints == 0 {
		c.UnusualMinPrints = 20
	}
	if c.RepeatedCount == 0 {
		c.RepeatedCount = 5
	}
	defDur(&c.SweepWindow, 300*time.Millisecond)
	defDur(&c.RepeatedWindow, time.Minute)
	defDur(&c.SpreadWindow, 50*time.Millisecond)
	c.Weights = c.Weights.withDefaults()
	return c
}

func (w Weights) withDefaults() Weights {
	def := func(v *int32, d int32) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&w.Premium, 30)
	def(&w.Aggression, 15)
	def(&w.VolumeOI, 15)
	def(&w.DTE, 10)
	def(&w.Moneyness, 10)
	def(&w.Sweep, 15)
	def(&w.Golden, 10)
	def(&w.Split, 5)
	def(&w.Block, 10)
	def(&w.Repeated, 10)
	def(&w.Unusual, 10)
	return w
}

// Defaults returns the published rule set with every default filled in.
func Defaults() Config { return Config{}.withDefaults() }

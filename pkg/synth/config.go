package synth

import (
	"fmt"
	"math"
)

// Limits on Config fields. They keep memory bounded (chains are built per
// underlying and expiry) and the generated names inside the 1-5 letter roots.
const (
	MaxUnderlyings = 10000
	MaxWeeklies    = 52
	MaxMonthlies   = 24
)

// Config tunes a Generator. The zero value of every field means its documented
// default, so Config{} is a sensible market.
type Config struct {
	// Underlyings is the number of underlyings; 0 means 300. The busiest carry
	// real names (SPY, QQQ, TSLA, ...), the rest generated 1-5 letter roots.
	Underlyings int

	// Seed selects the sequence; 0 means 1, so Seed 0 and 1 give the same ticks.
	Seed int64

	// SweepProb is the share of trades that start a multi-exchange sweep of 2-6
	// ISO fills; 0 means 0.02.
	SweepProb float64

	// BlockProb is the share of trades that are a single large print (size >= 500
	// or premium >= $100K); 0 means 0.005.
	BlockProb float64

	// QuoteProb is the probability that an option event is a quote rather than a
	// trade; 0 means 0.6. Quotes that refresh a stale NBBO just before a trade,
	// open-interest and spot ticks come on top, so about two thirds of all ticks
	// are quotes by default.
	QuoteProb float64

	// Skew is the Zipf exponent of activity across underlyings and must exceed 1;
	// 0 means 1.1, which gives the busiest name roughly a fifth of all events.
	Skew float64

	// Weeklies is the number of weekly (Friday) expiries listed for the 100
	// busiest underlyings; 0 means 6. Quieter names list at most 2 weeklies, plus
	// any monthly among the rest.
	Weeklies int

	// Monthlies is the number of monthly (third Friday) expiries listed after the
	// weeklies; 0 means 3.
	Monthlies int
}

// Validate explains the first rejected field: counts must not be negative or
// above their Max constant, probabilities must lie in [0, 1] (SweepProb and
// BlockProb together too), and Skew must be 0 or above 1. The sum is checked
// as given: SweepProb 1 with BlockProb 0 is valid and makes every trade a
// sweep, because sweeps are drawn first and blocks get what is left.
func (c Config) Validate() error {
	if err := count("Underlyings", c.Underlyings, MaxUnderlyings); err != nil {
		return err
	}
	if err := count("Weeklies", c.Weeklies, MaxWeeklies); err != nil {
		return err
	}
	if err := count("Monthlies", c.Monthlies, MaxMonthlies); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"SweepProb", c.SweepProb}, {"BlockProb", c.BlockProb}, {"QuoteProb", c.QuoteProb}} {
		if err := prob(p.name, p.v); err != nil {
			return err
		}
	}
	if c.SweepProb+c.BlockProb > 1 {
		return fmt.Errorf("synth: SweepProb %v and BlockProb %v add up to more than 1",
			c.SweepProb, c.BlockProb)
	}
	// NaN fails every comparison, so test for the valid range, not the invalid one.
	if c.Skew != 0 && !(c.Skew > 1 && !math.IsInf(c.Skew, 0)) {
		return fmt.Errorf("synth: Skew %v must be 0 (default) or a finite number above 1", c.Skew)
	}
	return nil
}

func count(name string, v, limit int) error {
	if v < 0 || v > limit {
		return fmt.Errorf("synth: %s %d outside [0, %d]", name, v, limit)
	}
	return nil
}

func prob(name string, v float64) error {
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("synth: %s %v outside [0, 1]", name, v)
	}
	return nil
}

// withDefaults replaces zero fields by their defaults.
func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defInt(&c.Underlyings, 300)
	defInt(&c.Weeklies, 6)
	defInt(&c.Monthlies, 3)
	if c.Seed == 0 {
		c.Seed = 1
	}
	def(&c.SweepProb, 0.02)
	def(&c.BlockProb, 0.005)
	def(&c.QuoteProb, 0.6)
	def(&c.Skew, 1.1)
	return c
}

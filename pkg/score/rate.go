package score

import (
	"fmt"
	"math"

	"github.com/liveflow/liveflow/pkg/flow"
)

// rate scores an event from 0 to 100 as the sum of these parts, capped at 100:
//
//   - premium: 10 points per tenfold above $1,000, rounded down, at most 40
//     ($10K gives 10, $100K 20, $1M 30, $10M 40);
//   - aggressiveness: 20 for a print beyond the quote (AA, BB), 10 at or
//     nearer the quote (A, B), 0 otherwise;
//   - block: 20;
//   - size above open interest (when open interest is known): 20.
//
// Each part that counts adds a reason, so a trader can see why.
func rate(e *flow.Event, openInterest int64) (int32, []string) {
	var score int32
	reasons := []string{} // never null in JSON: clients may iterate it blindly

	if e.Premium > 1000 {
		p := int32(math.Min(40, 10*math.Log10(e.Premium/1000)))
		if p > 0 {
			score += p
			reasons = append(reasons, fmt.Sprintf("premium $%s: +%d", money(e.Premium), p))
		}
	}
	switch e.Side {
	case flow.SideAboveAsk, flow.SideBelowBid:
		score += 20
		reasons = append(reasons, "printed beyond the quote ("+e.Side+"): +20")
	case flow.SideAsk, flow.SideBid:
		score += 10
		reasons = append(reasons, "printed on the "+sideName(e.Side)+" side: +10")
	}
	if e.Kind == flow.KindBlock {
		score += 20
		reasons = append(reasons, "block: +20")
	}
	if openInterest > 0 && e.Size > openInterest {
		score += 20
		reasons = append(reasons, fmt.Sprintf("size %d above open interest %d: +20", e.Size, openInterest))
	}
	return min(100, score), reasons
}

func sideName(side string) string {
	if side == flow.SideAsk {
		return "ask"
	}
	return "bid"
}

// money formats USD amounts the way traders read them: 950, 12.5K, 1.2M.
func money(v float64) string {
	switch {
	case v >= 1e6:
		return trim(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case v >= 1e3:
		return trim(fmt.Sprintf("%.1f", v/1e3)) + "K"
	}
	return fmt.Sprintf("%.0f", v)
}

func trim(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

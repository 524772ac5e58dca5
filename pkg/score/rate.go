package score

import (
	"fmt"
	"math"

	"github.com/liveflow/liveflow/pkg/flow"
)

// rate fills the score and its components. Each part is a share of its
// weight W (see Weights):
//
//   - premium: W x log10(premium / $1,000) / 3, rounded down, between 0 and W:
//     with W = 30, $10K gives 10, $100K 20, $1M or more 30;
//   - aggression: W beyond the quote (AA, BB), 2/3 W at or nearer it (A, B);
//   - volume against open interest: W when today's volume is at least twice
//     the open interest, 2/3 W at least equal, 1/3 W at least half;
//   - days to expiry: W up to 7 days, W/2 up to 30;
//   - moneyness: W from 5% in the money to 15% out of it, W/2 up to 30% out;
//   - kind: the Sweep weight for a sweep plus the Golden weight if golden,
//     Split, Block or Repeated for those kinds;
//   - unusual: W when the event is flagged unusual.
//
// The score is the sum, capped at 100. Cancels score 0.
func (e *Engine) rate(ev *flow.Event) {
	w := e.cfg.Weights
	var c flow.Components
	if ev.Kind == flow.KindCancel {
		ev.Components, ev.Score = c, 0
		return
	}
	if ev.Premium > 1000 {
		c.Premium = int32(math.Min(float64(w.Premium), float64(w.Premium)*math.Log10(ev.Premium/1000)/3))
	}
	switch ev.Side {
	case flow.SideAboveAsk, flow.SideBelowBid:
		c.Aggression = w.Aggression
	case flow.SideAsk, flow.SideBid:
		c.Aggression = w.Aggression * 2 / 3
	}
	if oi := ev.OpenInterest; oi > 0 {
		switch r := float64(ev.Volume) / float64(oi); {
		case r >= 2:
			c.VolumeOI = w.VolumeOI
		case r >= 1:
			c.VolumeOI = w.VolumeOI * 2 / 3
		case r >= 0.5:
			c.VolumeOI = w.VolumeOI / 3
		}
	}
	switch {
	case ev.DTE <= 7:
		c.DTE = w.DTE
	case ev.DTE <= 30:
		c.DTE = w.DTE / 2
	}
	if ev.Spot > 0 {
		switch {
		case ev.OTMPct >= -5 && ev.OTMPct <= 15:
			c.Moneyness = w.Moneyness
		case ev.OTMPct > 15 && ev.OTMPct <= 30:
			c.Moneyness = w.Moneyness / 2
		}
	}
	switch ev.Kind {
	case flow.KindSweep:
		c.Kind = w.Sweep
		if ev.Flags&flow.Golden != 0 {
			c.Kind += w.Golden
		}
	case flow.KindSplit:
		c.Kind = w.Split
	case flow.KindBlock:
		c.Kind = w.Block
	case flow.KindRepeated:
		c.Kind = w.Repeated
	}
	if ev.Flags&flow.Unusual != 0 {
		c.Unusual = w.Unusual
	}
	ev.Components, ev.Score = c, min(100, c.Sum())
}

// Reasons renders the scored parts of an event as sentences, for people.
// It allocates, so the scorer calls it when encoding, not while scoring.
func Reasons(ev *flow.Event) []string {
	c := ev.Components
	r := []string{}
	add := func(points int32, format string, args ...any) {
		if points > 0 {
			r = append(r, fmt.Sprintf(format, args...)+fmt.Sprintf(": +%d", points))
		}
	}
	add(c.Premium, "premium $%s", money(ev.Premium))
	add(c.Aggression, "printed %s", sideWords[ev.Side])
	add(c.VolumeOI, "volume %d against open interest %d", ev.Volume, ev.OpenInterest)
	add(c.DTE, "%d days to expiry", ev.DTE)
	add(c.Moneyness, "%.2f%% out of the money", ev.OTMPct)
	kind := ev.Kind
	if ev.Flags&flow.Golden != 0 {
		kind = "golden sweep"
	}
	add(c.Kind, "%s", kind)
	add(c.Unusual, "unusual size or volume")
	return r
}

var sideWords = map[string]string{
	flow.SideAboveAsk: "above the ask", flow.SideAsk: "at or near the ask",
	flow.SideBid: "at or near the bid", flow.SideBelowBid: "below the bid",
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

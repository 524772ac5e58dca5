package score

import (
	"math"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/occ"
)

// eps absorbs binary rounding in prices quoted in cents.
const eps = 1e-9

// classify places a trade price against the NBBO just before it. Between the
// quotes, the nearer quote decides; exactly at the mid the tick rule decides
// (an uptick from the previous trade is ask side, a downtick bid side); with
// no previous trade to compare, the print stays mid. Without a two-sided quote
// the side is unknown.
func classify(price, bid, ask, last float64) string {
	if bid <= 0 || ask <= 0 {
		return flow.SideUnknown
	}
	switch {
	case price > ask+eps:
		return flow.SideAboveAsk
	case math.Abs(price-ask) <= eps:
		return flow.SideAsk
	case price < bid-eps:
		return flow.SideBelowBid
	case math.Abs(price-bid) <= eps:
		return flow.SideBid
	}
	mid := (bid + ask) / 2
	switch {
	case price > mid+eps:
		return flow.SideAsk
	case price < mid-eps:
		return flow.SideBid
	case last > 0 && price > last+eps:
		return flow.SideAsk
	case last > 0 && price < last-eps:
		return flow.SideBid
	}
	return flow.SideMid
}

// direction is +1 for a buyer-initiated side, -1 for a seller-initiated one,
// 0 otherwise.
func direction(side string) int {
	switch side {
	case flow.SideAsk, flow.SideAboveAsk:
		return 1
	case flow.SideBid, flow.SideBelowBid:
		return -1
	}
	return 0
}

// sentiment: calls bought or puts sold are bullish, puts bought or calls sold
// bearish, anything else neutral.
func sentiment(side string, right occ.Right) string {
	d := direction(side)
	switch {
	case d > 0 && right == occ.Call, d < 0 && right == occ.Put:
		return flow.Bullish
	case d > 0 && right == occ.Put, d < 0 && right == occ.Call:
		return flow.Bearish
	}
	return flow.Neutral
}

// otmPercent is how far out of the money a contract is, in percent of spot,
// rounded to hundredths; negative in the money, 0 when spot is unknown.
func otmPercent(right occ.Right, strike, spot float64) float64 {
	if spot <= 0 {
		return 0
	}
	d := strike - spot
	if right == occ.Put {
		d = -d
	}
	return math.Round(d/spot*100*100) / 100
}

// premium is price x size x multiplier, rounded to the cent so that sums and
// comparisons do not carry binary fractions.
func premium(price float64, size int64) float64 {
	return math.Round(price*float64(size)*Multiplier*100) / 100
}

// Multiplier is the number of shares one contract controls.
const Multiplier = 100

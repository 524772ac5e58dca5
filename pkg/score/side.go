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

// sentiment: calls bought or puts sold are bullish, puts bought or calls sold
// bearish, anything else neutral.
func sentiment(side string, right occ.Right) string {
	bought := side == flow.SideAsk || side == flow.SideAboveAsk
	sold := side == flow.SideBid || side == flow.SideBelowBid
	switch {
	case bought && right == occ.Call, sold && right == occ.Put:
		return flow.Bullish
	case bought && right == occ.Put, sold && right == occ.Call:
		return flow.Bearish
	}
	return flow.Neutral
}

// unclassifiable lists the OPRA conditions under which the live NBBO says
// nothing reliable about the aggressor: late and out-of-sequence reports,
// auctions and crosses, multi-leg and stock-option combinations, multi-leg
// floor trades, compression and extended hours.
var unclassifiable = map[string]bool{
	"LATE": true, "OSEQ": true, "LLAT": true, "LOSQ": true, "OTLT": true,
	"SLAN": true, "SLAI": true, "SLCN": true, "SLCI": true,
	"MLET": true, "MLAT": true, "MLCT": true, "MLFT": true,
	"MESL": true, "MASL": true, "MFSL": true, "TLET": true, "TLAT": true, "TLCT": true,
	"TLFT": true, "TESL": true, "TASL": true, "TFSL": true, "CBMO": true, "MCTP": true,
	"TCMP": true, "EXHT": true,
}

func classifiable(conditions []string) bool {
	for _, c := range conditions {
		if unclassifiable[c] {
			return false
		}
	}
	return true
}

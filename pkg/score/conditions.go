package score

import "github.com/liveflow/liveflow/pkg/flow"

// class says how a trade condition changes the treatment of a print.
type class uint16

const (
	cancel      class = 1 << iota // retracts an earlier print
	late                          // count the volume; no side, no sweep
	iso                           // intermarket sweep order: evidence of a sweep
	noSide                        // the NBBO says nothing reliable about the aggressor
	multiLeg                      // a leg of a multi-leg or stock-option trade
	floor                         // a floor trade
	extended                      // extended-hours trade
	compression                   // a compression trade: no side, not directional
)

// conditions maps OPRA trade condition mnemonics to their treatment.
var conditions = map[string]class{
	// Cancels: previously reported, last reported, first reported, only reported.
	"CANC": cancel, "CNCL": cancel, "CNCO": cancel, "CNOL": cancel,
	// Late and out of sequence, including late reports of opening trades.
	"OSEQ": late, "LATE": late, "OPEN": late, "OPNL": late,
	"ISOI": iso,
	// Single-leg auctions and crosses, ISO or not.
	"SLAN": noSide, "SLAI": noSide | iso, "SLCN": noSide, "SLCI": noSide | iso,
	"SLFT": floor,
	// Multi-leg and stock-option trades, and the older spread, straddle,
	// combo and buy-write marks.
	"MLET": multiLeg, "MLAT": multiLeg, "MLCT": multiLeg, "MLFT": multiLeg,
	"MESL": multiLeg, "MASL": multiLeg, "MFSL": multiLeg,
	"TLET": multiLeg, "TLAT": multiLeg, "TLCT": multiLeg, "TLFT": multiLeg,
	"TESL": multiLeg, "TASL": multiLeg, "TFSL": multiLeg,
	"SPRD": multiLeg, "STDL": multiLeg, "CMBO": multiLeg, "BWRT": multiLeg,
	// Multi-leg floor trade of three or more legs: its price may lie outside
	// the NBBO.
	"CBMO": multiLeg | noSide,
	"MCTP": compression | noSide,
	"EXHT": extended,
}

// classify returns the union of the classes of a print's conditions.
func classOf(conds []string) class {
	var c class
	for _, s := range conds {
		c |= conditions[s]
	}
	return c
}

// flags turns classes into the event flags that show them.
func (c class) flags() flow.Flags {
	var f flow.Flags
	if c&iso != 0 {
		f |= flow.ISO
	}
	if c&late != 0 {
		f |= flow.Late
	}
	if c&floor != 0 {
		f |= flow.Floor
	}
	if c&extended != 0 {
		f |= flow.Extended
	}
	if c&multiLeg != 0 {
		f |= flow.MultiLeg
	}
	return f
}

// sided reports whether the print's side may be judged against the NBBO.
func (c class) sided() bool { return c&(late|noSide|multiLeg|compression) == 0 }

// directional reports whether the print may join sweeps and repeated hits.
func (c class) directional() bool { return c.sided() }

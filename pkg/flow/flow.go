// Package flow defines the scored flow event: what the scorer derives from
// trades and what edges stream to browsers.
//
// An Event is built in two steps. The engine fills the compact fields (Source,
// Flags, fill sources, Components) without allocating; Finish then renders
// the wire fields (Key, FlagNames, fill keys) before the event is encoded.
package flow

import (
	"encoding/json"
	"strconv"

	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/schemas"
)

// Kinds of events.
const (
	KindTrade    = "trade"    // an ordinary print
	KindBlock    = "block"    // a single print at or above the block thresholds
	KindSweep    = "sweep"    // one order's fills on several exchanges, same side, within a window
	KindSplit    = "split"    // the same on a single exchange
	KindRepeated = "repeated" // many aggressive prints in one contract within a window
	KindSpread   = "spread"   // multi-leg prints that printed together
	KindCancel   = "cancel"   // retracts earlier events
)

// Aggressor sides, judged against the NBBO just before the trade.
const (
	SideAboveAsk = "AA"
	SideAsk      = "A"
	SideMid      = "M"
	SideBid      = "B"
	SideBelowBid = "BB"
	SideUnknown  = "" // no usable quote, or a condition that rules classification out
)

// Sentiments.
const (
	Bullish = "bullish"
	Bearish = "bearish"
	Neutral = "neutral"
)

// Flags mark facts about an event beside its kind.
type Flags uint16

// The flags, in the order their names are listed.
const (
	Golden   Flags = 1 << iota // a sweep of large premium, above open interest, near the money
	Unusual                    // volume above open interest, or size far above the usual
	ISO                        // an intermarket sweep order print
	Late                       // reported late or out of sequence
	Floor                      // a floor trade
	Extended                   // printed in extended hours
	MultiLeg                   // a leg of a multi-leg or stock-option trade
)

var flagNames = []string{"golden", "unusual", "iso", "late", "floor", "extended", "multileg"}

// Names returns the names of the flags set, in a fixed order.
func (f Flags) Names() []string {
	names := []string{}
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

// Source identifies the tick an event comes from: the n-th event of the tick
// at offset in partition.
type Source struct {
	Partition int32
	Offset    int64
	N         int32
}

// Key returns "<partition>.<offset>.<n>".
func (s Source) Key() string {
	b := make([]byte, 0, 24)
	b = strconv.AppendInt(b, int64(s.Partition), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, s.Offset, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(s.N), 10)
	return string(b)
}

// Fill is one print behind an aggregate, or a leg of a spread.
type Fill struct {
	Source   Source  `avro:"-" json:"-"`
	Key      string  `avro:"key" json:"key"`
	TS       int64   `avro:"ts" json:"ts"`
	Symbol   string  `avro:"symbol" json:"symbol"`
	Exchange string  `avro:"exchange" json:"exchange"`
	Price    float64 `avro:"price" json:"price"`
	Size     int64   `avro:"size" json:"size"`
	Side     string  `avro:"side" json:"side"`
}

// Components are the points each part of the score contributed.
type Components struct {
	Premium    int32 `avro:"premium" json:"premium"`
	Aggression int32 `avro:"aggression" json:"aggression"`
	VolumeOI   int32 `avro:"volume_oi" json:"volume_oi"`
	DTE        int32 `avro:"dte" json:"dte"`
	Moneyness  int32 `avro:"moneyness" json:"moneyness"`
	Kind       int32 `avro:"kind" json:"kind"`
	Unusual    int32 `avro:"unusual" json:"unusual"`
}

// Sum returns the total of the components.
func (c Components) Sum() int32 {
	return c.Premium + c.Aggression + c.VolumeOI + c.DTE + c.Moneyness + c.Kind + c.Unusual
}

// Event is one scored flow event. The JSON form is what WebSocket clients
// receive, with an "id" added by the edge; the Avro form follows
// schemas/flow_event.avsc.
type Event struct {
	Source       Source     `avro:"-" json:"-"`
	Flags        Flags      `avro:"-" json:"-"`
	Key          string     `avro:"key" json:"key"`
	Kind         string     `avro:"kind" json:"kind"`
	TS           int64      `avro:"ts" json:"ts"`
	IngestTS     int64      `avro:"ingest_ts" json:"ingest_ts"`
	ScoredTS     int64      `avro:"scored_ts" json:"scored_ts"`
	Underlying   string     `avro:"underlying" json:"underlying"`
	Symbol       string     `avro:"symbol" json:"symbol"`
	Expiry       string     `avro:"expiry" json:"expiry"`
	DTE          int32      `avro:"dte" json:"dte"`
	Strike       float64    `avro:"strike" json:"strike"`
	Right        string     `avro:"right" json:"right"`
	Side         string     `avro:"side" json:"side"`
	Sentiment    string     `avro:"sentiment" json:"sentiment"`
	Price        float64    `avro:"price" json:"price"`
	Size         int64      `avro:"size" json:"size"`
	Premium      float64    `avro:"premium" json:"premium"`
	Bid          float64    `avro:"bid" json:"bid"`
	Ask          float64    `avro:"ask" json:"ask"`
	Spot         float64    `avro:"spot" json:"spot"`
	OTMPct       float64    `avro:"otm_pct" json:"otm_pct"`
	Volume       int64      `avro:"volume" json:"volume"`
	OpenInterest int64      `avro:"open_interest" json:"open_interest"`
	Exchange     string     `avro:"exchange" json:"exchange"`
	Exchanges    int32      `avro:"exchanges" json:"exchanges"`
	Conditions   []string   `avro:"conditions" json:"conditions"`
	FlagNames    []string   `avro:"flags" json:"flags"`
	Fills        []Fill     `avro:"fills" json:"fills"`
	Cancels      []string   `avro:"cancels" json:"cancels"`
	Score        int32      `avro:"score" json:"score"`
	Components   Components `avro:"components" json:"components"`
	Reasons      []string   `avro:"reasons" json:"reasons"`
}

// Finish renders the wire fields from the compact ones: Key from Source,
// FlagNames from Flags, each fill's Key from its Source, and empty lists
// instead of nil ones, so clients may iterate every list. Reasons are the
// scoring engine's to fill.
func (e *Event) Finish() {
	e.Key = e.Source.Key()
	e.FlagNames = e.Flags.Names()
	for i := range e.Fills {
		e.Fills[i].Key = e.Fills[i].Source.Key()
	}
	if e.Conditions == nil {
		e.Conditions = []string{}
	}
	if e.Fills == nil {
		e.Fills = []Fill{}
	}
	if e.Cancels == nil {
		e.Cancels = []string{}
	}
	if e.Reasons == nil {
		e.Reasons = []string{}
	}
}

// JSON returns the event's wire form, without the "id" an edge adds.
func (e *Event) JSON() ([]byte, error) {
	return json.Marshal(e)
}

// Codec encodes events as single-object Avro records.
type Codec = record.Codec[Event]

// NewCodec returns a Codec for the flow event schema.
func NewCodec() (*Codec, error) {
	return record.NewCodec[Event](schemas.FlowEvent)
}

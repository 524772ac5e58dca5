// Package flow defines the scored flow event: what the scorer derives from
// trades and what edges stream to browsers.
package flow

import (
	"encoding/json"

	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/schemas"
)

// Kinds of events.
const (
	KindTrade = "trade" // an ordinary print
	KindBlock = "block" // a single print at or above the block thresholds
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

// Event is one scored flow event. The JSON form is what WebSocket clients
// receive, with an "id" added by the edge; the Avro form follows
// schemas/flow_event.avsc.
type Event struct {
	Key        string   `avro:"key" json:"key"`
	TS         int64    `avro:"ts" json:"ts"`
	IngestTS   int64    `avro:"ingest_ts" json:"ingest_ts"`
	ScoredTS   int64    `avro:"scored_ts" json:"scored_ts"`
	Underlying string   `avro:"underlying" json:"underlying"`
	Symbol     string   `avro:"symbol" json:"symbol"`
	Expiry     string   `avro:"expiry" json:"expiry"`
	Strike     float64  `avro:"strike" json:"strike"`
	Right      string   `avro:"right" json:"right"`
	Kind       string   `avro:"kind" json:"kind"`
	Side       string   `avro:"side" json:"side"`
	Sentiment  string   `avro:"sentiment" json:"sentiment"`
	Price      float64  `avro:"price" json:"price"`
	Size       int64    `avro:"size" json:"size"`
	Premium    float64  `avro:"premium" json:"premium"`
	Bid        float64  `avro:"bid" json:"bid"`
	Ask        float64  `avro:"ask" json:"ask"`
	Spot       float64  `avro:"spot" json:"spot"`
	Exchange   string   `avro:"exchange" json:"exchange"`
	Conditions []string `avro:"conditions" json:"conditions"`
	Score      int32    `avro:"score" json:"score"`
	Reasons    []string `avro:"reasons" json:"reasons"`
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

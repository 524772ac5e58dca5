package polygon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	jsoniter "github.com/json-iterator/go"

	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

// The event types of the vendor's messages.
const (
	evTrade  = "T"
	evQuote  = "Q"
	evStatus = "status"
)

// message is the wire shape of every vendor message; which fields are set
// depends on ev. Fields the adapter does not use are ignored, so that a
// vendor adding fields does not break the feed.
type message struct {
	Ev      string  `json:"ev"`
	Sym     string  `json:"sym"`
	X       int     `json:"x"` // trade: exchange id
	P       float64 `json:"p"` // trade: price
	S       int64   `json:"s"` // trade: size
	C       []int   `json:"c"` // trade: condition ids
	T       int64   `json:"t"` // Unix milliseconds
	Q       int64   `json:"q"` // sequence number within the symbol and event type
	Bx      int     `json:"bx"`
	Bp      float64 `json:"bp"`
	Bs      int64   `json:"bs"`
	Ax      int     `json:"ax"`
	Ap      float64 `json:"ap"`
	As      int64   `json:"as"`
	Status  string  `json:"status"`
	Message string  `json:"message"`
}

// maxTimestamp bounds t so that converting milliseconds to nanoseconds
// cannot overflow int64 (it is in the year 2255).
const maxTimestamp = 9e12

// Handler receives what Parser.Frame finds, in the order of the frame.
type Handler interface {
	// Tick receives a trade or quote. t and its slices are reused for the
	// next message: Tick must not keep them. ev is evTrade or evQuote.
	Tick(t *tick.Tick, seq int64, ev string) error
	// Status receives a status message.
	Status(status, message string) error
	// Reject receives a message or frame that cannot be used, with a tape
	// reason (malformed, unknown_type, bad_symbol, invalid).
	Reject(reason string, err error)
}

// Parser turns the vendor's frames (a JSON array of messages, or a single
// message) into ticks. It is not safe for concurrent use: each connection
// has its own.
type Parser struct {
	msgs      []message
	raw       []json.RawMessage
	contracts map[string]contract // vendor symbol to contract, bounded by maxContracts
	conds     []string
	tick      tick.Tick
}

// contract is a vendor symbol resolved once: canonical symbol and root, or
// why it is not an option symbol.
type contract struct {
	symbol, underlying string
	err                error
}

// maxContracts bounds the symbol cache; OPRA lists about 1.5M contracts, of
// which a day trades a fraction. When full, the cache starts over.
const maxContracts = 1 << 20

// NewParser returns a Parser.
func NewParser() *Parser {
	return &Parser{contracts: make(map[string]contract)}
}

// Frame parses one frame and hands its messages to h in order. It returns
// only an error of h's Tick or Status; input that cannot be used is reported
// to h.Reject and the rest of the frame is still read.
func (p *Parser) Frame(b []byte, h Handler) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		h.Reject(tape.ReasonMalformed, errors.New("polygon: empty frame"))
		return nil
	case b[0] == '{':
		b = append(append([]byte{'['}, b...), ']') // a lone message: rare, no need to be fast
	}
	// Unmarshal reuses the slice's elements without zeroing them, and a
	// field absent from a message would keep the previous frame's value.
	clear(p.msgs[:cap(p.msgs)])
	if err := jsonAPI.Unmarshal(b, &p.msgs); err != nil {
		return p.oneByOne(b, h, err)
	}
	for i := range p.msgs {
		if err := p.message(&p.msgs[i], i, h); err != nil {
			return err
		}
	}
	return nil
}

// oneByOne is the slow path for a frame that did not decode as a whole: it
// rejects the messages that do not decode and keeps the others, so one bad
// message does not lose its neighbours.
func (p *Parser) oneByOne(b []byte, h Handler, whole error) error {
	p.raw = p.raw[:0]
	if err := json.Unmarshal(b, &p.raw); err != nil {
		h.Reject(tape.ReasonMalformed, fmt.Errorf("polygon: frame is not a JSON array of messages: %w", whole))
		return nil
	}
	for i, r := range p.raw {
		var m message
		if err := json.Unmarshal(r, &m); err != nil {
			h.Reject(tape.ReasonMalformed, fmt.Errorf("polygon: message %d of the frame: %w", i, err))
			continue
		}
		if err := p.message(&m, i, h); err != nil {
			return err
		}
	}
	return nil
}

func (p *Parser) message(m *message, i int, h Handler) error {
	switch m.Ev {
	case evTrade, evQuote:
	case evStatus:
		return h.Status(m.Status, m.Message)
	case "":
		h.Reject(tape.ReasonMalformed, fmt.Errorf("polygon: message %d of the frame has no ev", i))
		return nil
	default:
		h.Reject(tape.ReasonType, fmt.Errorf("polygon: message %d: event %q is not handled", i, m.Ev))
		return nil
	}
	c := p.contract(m.Sym)
	if c.err != nil {
		h.Reject(tape.ReasonSymbol, fmt.Errorf("polygon: message %d: %w", i, c.err))
		return nil
	}
	if m.T <= 0 || m.T >= maxTimestamp {
		h.Reject(tape.ReasonInvalid, fmt.Errorf("polygon: message %d (%s %s): t %d is not a time in Unix ms",
			i, m.Ev, m.Sym, m.T))
		return nil
	}
	t := &p.tick
	if m.Ev == evTrade {
		*t = tick.Tick{Type: tick.Trade, Price: m.P, Size: m.S, Exchange: exchangeName(m.X),
			Conditions: p.conditions(m.C)}
	} else {
		*t = tick.Tick{Type: tick.Quote, Bid: m.Bp, Ask: m.Ap, BidSize: m.Bs, AskSize: m.As,
			Conditions: p.conds[:0]}
	}
	t.TS, t.Symbol, t.Underlying = m.T*1e6, c.symbol, c.underlying
	return h.Tick(t, m.Q, m.Ev)
}

func (p *Parser) contract(sym string) contract {
	if c, ok := p.contracts[sym]; ok {
		return c
	}
	var c contract
	if oc, err := occ.Parse(sym); err != nil {
		c.err = err
	} else {
		c.symbol, c.underlying = oc.String(), oc.Root
	}
	if len(p.contracts) >= maxContracts {
		clear(p.contracts)
	}
	p.contracts[sym] = c
	return c
}

func (p *Parser) conditions(ids []int) []string {
	p.conds = p.conds[:0]
	for _, id := range ids {
		name, _ := ConditionName(id)
		p.conds = append(p.conds, name)
	}
	return p.conds
}

// jsonAPI decodes frames on the hot path: json-iterator (already in the
// build through hamba/avro) decodes the vendor's messages about three times
// faster than encoding/json, with the same semantics (see BenchmarkParse).
// The slow path for broken frames keeps encoding/json and its errors.
var jsonAPI = jsoniter.ConfigCompatibleWithStandardLibrary

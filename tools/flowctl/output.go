package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Output formats of tail.
const (
	formatJSON  = "json"
	formatCSV   = "csv"
	formatTable = "table"
)

// printer writes decoded records in one format. JSON lines are the event as
// the WebSocket protocol carries it (without the edge's id), or a tape line
// for a tick, so a tailed ticks topic replays as a tape. CSV and the table
// carry the columns a person scans for.
type printer struct {
	w      io.Writer
	format string
	csv    *csv.Writer
	header bool // the header of the current kind was written
	kind   schemaKind
}

func newPrinter(w io.Writer, format string) *printer {
	p := &printer{w: w, format: format}
	if format == formatCSV {
		p.csv = csv.NewWriter(w)
	}
	return p
}

var (
	flowColumns = []string{"ts", "underlying", "kind", "symbol", "side", "sentiment", "size", "price",
		"premium", "score", "flags", "key"}
	tickColumns = []string{"ts", "underlying", "type", "symbol", "price", "size", "bid", "ask",
		"open_interest"}
	// Table column widths, in the order of the columns above.
	flowWidths = []int{30, 10, 8, 21, 4, 9, 7, 9, 12, 5, 16, 0}
	tickWidths = []int{30, 10, 5, 21, 9, 7, 9, 9, 0}
)

func (p *printer) print(d decoded) error {
	switch p.format {
	case formatJSON:
		var b []byte
		var err error
		if d.event != nil {
			b, err = json.Marshal(d.event)
		} else {
			b, err = tape.Format(d.tick)
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	case formatCSV:
		p.headerOnce(d)
		if err := p.csv.Write(columns(d)); err != nil {
			return err
		}
		p.csv.Flush()
		return p.csv.Error()
	default:
		p.headerOnce(d)
		_, err := fmt.Fprintln(p.w, p.row(d, columns(d)))
		return err
	}
}

// headerOnce writes the column names before the first record, and again
// when the records switch between events and ticks.
func (p *printer) headerOnce(d decoded) {
	kind := kindTick
	names := tickColumns
	if d.event != nil {
		kind, names = kindFlow, flowColumns
	}
	if p.header && p.kind == kind {
		return
	}
	p.header, p.kind = true, kind
	if p.csv != nil {
		_ = p.csv.Write(names)
		return
	}
	upper := make([]string, len(names))
	for i, n := range names {
		upper[i] = strings.ToUpper(n)
	}
	fmt.Fprintln(p.w, p.row(d, upper))
}

func (p *printer) row(d decoded, cells []string) string {
	widths := tickWidths
	if d.event != nil {
		widths = flowWidths
	}
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteString("  ")
		}
		if w := widths[i]; w > 0 && i < len(cells)-1 {
			fmt.Fprintf(&b, "%-*s", w, c)
		} else {
			b.WriteString(c)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func columns(d decoded) []string {
	if e := d.event; e != nil {
		return []string{stamp(e.TS), e.Underlying, e.Kind, e.Symbol, e.Side, e.Sentiment,
			strconv.FormatInt(e.Size, 10), num(e.Price), num(e.Premium), strconv.Itoa(int(e.Score)),
			strings.Join(e.FlagNames, "|"), e.Key}
	}
	t := d.tick
	return []string{stamp(t.TS), t.Underlying, string(t.Type), t.Symbol, num(t.Price),
		strconv.FormatInt(t.Size, 10), num(t.Bid), num(t.Ask), strconv.FormatInt(t.OpenInterest, 10)}
}

func stamp(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// filter selects records by underlying, kind and premium.
type filter struct {
	underlyings map[string]bool // empty: all
	kinds       map[string]bool // flow kinds or tick types; empty: all
	minPremium  float64
}

func (f filter) match(d decoded) bool {
	var u, kind string
	var premium float64
	if e := d.event; e != nil {
		u, kind, premium = e.Underlying, e.Kind, e.Premium
		// As on the WebSocket feed, a cancel passes every condition but
		// the underlying: it retracts events the reader may hold.
		if kind == flow.KindCancel {
			return len(f.underlyings) == 0 || f.underlyings[u]
		}
	} else {
		u, kind = d.tick.Underlying, string(d.tick.Type)
		if d.tick.Type == tick.Trade {
			premium = d.tick.Price * float64(d.tick.Size) * 100
		}
	}
	if len(f.underlyings) > 0 && !f.underlyings[u] {
		return false
	}
	if len(f.kinds) > 0 && !f.kinds[kind] {
		return false
	}
	return premium >= f.minPremium
}

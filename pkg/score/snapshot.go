package score

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/occ"
)

// Snapshots let a new owner of a partition take over its state instead of
// replaying the whole day: the scorer saves the state of each underlying that
// changed since its last checkpoint, with the offset it was taken at, and a
// new owner restores them and replays from there. Ticks at or below an
// underlying's restored offset are skipped, so an underlying saved ahead of
// the others is never fed a tick twice.

// snapshotVersion changes when the format does; Restore rejects other versions.
const snapshotVersion = 1

type snapUnderlying struct {
	Version   int             `json:"v"`
	Name      string          `json:"name"`
	Offset    int64           `json:"offset"`
	Day       int32           `json:"day"`
	Spot      float64         `json:"spot"`
	Contracts []snapContract  `json:"contracts"`
	Spread    *snapWindow     `json:"spread,omitempty"`
	Aggs      []snapAggregate `json:"aggs,omitempty"`
}

type snapContract struct {
	Symbol    string      `json:"symbol"`
	Bid       float64     `json:"bid"`
	Ask       float64     `json:"ask"`
	Last      float64     `json:"last"`
	OI        int64       `json:"oi"`
	Volume    int64       `json:"volume"`
	SizeSum   float64     `json:"size_sum"`
	SizeCount int64       `json:"size_count"`
	Prints    []snapPrint `json:"prints,omitempty"`
	Sweep     *snapWindow `json:"sweep,omitempty"`
	Hits      []snapHit   `json:"hits,omitempty"`
	HitFills  []snapFill  `json:"hit_fills,omitempty"`
}

type snapPrint struct {
	Fill      snapFill `json:"fill"`
	Premium   float64  `json:"premium"`
	Cancelled bool     `json:"cancelled,omitempty"`
}

type snapHit struct {
	TS  int64 `json:"ts"`
	Dir int   `json:"dir"`
	N   int   `json:"n"`
}

type snapWindow struct {
	Origin   snapSource `json:"origin"`
	Deadline int64      `json:"deadline"`
	Dir      int        `json:"dir"`
	Fills    []snapFill `json:"fills"`
	Bid      float64    `json:"bid"`
	Ask      float64    `json:"ask"`
	Flags    flow.Flags `json:"flags"`
}

type snapAggregate struct {
	Src   snapSource `json:"src"`
	Kind  string     `json:"kind"`
	Fills []snapFill `json:"fills"`
	Bid   float64    `json:"bid"`
	Ask   float64    `json:"ask"`
	Flags flow.Flags `json:"flags"`
}

type snapSource struct {
	P int32 `json:"p"`
	O int64 `json:"o"`
	N int32 `json:"n"`
}

type snapFill struct {
	Src      snapSource `json:"src"`
	TS       int64      `json:"ts"`
	Symbol   string     `json:"symbol"`
	Exchange string     `json:"exchange"`
	Price    float64    `json:"price"`
	Size     int64      `json:"size"`
	Side     string     `json:"side"`
}

// TakeDirty returns the underlyings whose state changed since the last call,
// sorted, and forgets them. Give them back with MarkDirty if saving fails.
func (e *Engine) TakeDirty() []string {
	names := make([]string, 0, len(e.dirty))
	for n := range e.dirty {
		names = append(names, n)
	}
	clear(e.dirty)
	sort.Strings(names)
	return names
}

// MarkDirty records underlyings as changed, so TakeDirty returns them again.
func (e *Engine) MarkDirty(names ...string) {
	for _, n := range names {
		e.dirty[n] = struct{}{}
	}
}

// Snapshot returns the state of one underlying, or nil when the engine has
// none for it.
func (e *Engine) Snapshot(name string) ([]byte, error) {
	u, ok := e.unders[name]
	if !ok {
		return nil, nil
	}
	s := snapUnderlying{Version: snapshotVersion, Name: name, Offset: u.offset, Day: u.day, Spot: u.spot,
		Spread: snapWin(u.spread)}
	for _, a := range u.aggs {
		s.Aggs = append(s.Aggs, snapAggregate{Src: snapSrc(a.src), Kind: a.kind, Fills: snapFills(a.fills),
			Bid: a.bid, Ask: a.ask, Flags: a.flags})
	}
	symbols := make([]string, 0, len(u.contracts))
	for sym := range u.contracts {
		symbols = append(symbols, sym)
	}
	sort.Strings(symbols)
	for _, sym := range symbols {
		c := u.contracts[sym]
		sc := snapContract{Symbol: sym, Bid: c.bid, Ask: c.ask, Last: c.last, OI: c.oi, Volume: c.volume,
			SizeSum: c.sizeSum, SizeCount: c.sizeCount, Sweep: snapWin(c.sweep), HitFills: snapFills(c.hitFills)}
		for _, p := range c.prints {
			sc.Prints = append(sc.Prints, snapPrint{Fill: snapOne(p.fill), Premium: p.premium, Cancelled: p.cancelled})
		}
		for _, h := range c.hits {
			sc.Hits = append(sc.Hits, snapHit{TS: h.ts, Dir: h.dir, N: h.n})
		}
		s.Contracts = append(s.Contracts, sc)
	}
	return json.Marshal(s)
}

// Restore replaces the state of one underlying with a snapshot and reopens
// its windows. Restore each underlying of a partition before applying ticks.
func (e *Engine) Restore(b []byte) error {
	var s snapUnderlying
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("score: restore: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("score: restore %q: snapshot version %d, want %d", s.Name, s.Version, snapshotVersion)
	}
	if err := s.check(); err != nil {
		return fmt.Errorf("score: restore %q: %w", s.Name, err)
	}
	e.drop(s.Name)
	u := e.underlying(s.Name)
	u.offset, u.day, u.spot = s.Offset, s.Day, s.Spot
	for _, sc := range s.Contracts {
		c, err := u.contract(sc.Symbol)
		if err != nil {
			return fmt.Errorf("score: restore %q: %w", s.Name, err)
		}
		c.bid, c.ask, c.last, c.oi, c.volume = sc.Bid, sc.Ask, sc.Last, sc.OI, sc.Volume
		c.sizeSum, c.sizeCount = sc.SizeSum, sc.SizeCount
		for _, p := range sc.Prints {
			c.prints = append(c.prints, print{fill: fill(p.Fill), premium: p.Premium, cancelled: p.Cancelled})
		}
		for _, h := range sc.Hits {
			c.hits = append(c.hits, hit{ts: h.TS, dir: h.Dir, n: h.N})
		}
		c.hitFills = fills(sc.HitFills)
		if sc.Sweep != nil {
			c.sweep = e.reopen(sc.Sweep, u, c, &e.clusters)
		}
	}
	if s.Spread != nil {
		u.spread = e.reopen(s.Spread, u, nil, &e.spreads)
	}
	for _, a := range s.Aggs {
		u.aggs = append(u.aggs, emittedAgg{src: source(a.Src), kind: a.Kind, fills: fills(a.Fills),
			bid: a.Bid, ask: a.Ask, flags: a.Flags})
	}
	return nil
}

// check refuses a snapshot the engine could not continue from: one whose
// contracts are not of its underlying, or whose windows, aggregates or
// prints hold no fill, a fill of a contract it does not hold, or an
// impossible fill. A damaged or foreign record of the state topic must fail
// here rather than crash the engine once a tick closes one of its windows.
func (s *snapUnderlying) check() error {
	if s.Name == "" {
		return fmt.Errorf("no underlying")
	}
	held := make(map[string]bool, len(s.Contracts))
	for _, sc := range s.Contracts {
		c, err := occ.Parse(sc.Symbol)
		if err != nil {
			return err
		}
		if c.Root != s.Name || c.String() != sc.Symbol {
			return fmt.Errorf("contract %q is not a canonical symbol of the underlying", sc.Symbol)
		}
		held[sc.Symbol] = true
	}
	fillsOK := func(what string, fs []snapFill, atLeast int) error {
		if len(fs) < atLeast {
			return fmt.Errorf("%s has %d fills", what, len(fs))
		}
		for _, f := range fs {
			if !held[f.Symbol] || f.Size <= 0 || !(f.Price > 0) || math.IsInf(f.Price, 0) {
				return fmt.Errorf("%s holds a fill of %q (size %d, price %v) the snapshot cannot hold",
					what, f.Symbol, f.Size, f.Price)
			}
		}
		return nil
	}
	for _, sc := range s.Contracts {
		for _, p := range sc.Prints {
			if err := fillsOK("a print", []snapFill{p.Fill}, 1); err != nil {
				return err
			}
		}
		if err := fillsOK("the hits", sc.HitFills, 0); err != nil {
			return err
		}
		if sc.Sweep != nil {
			if err := fillsOK("an order window", sc.Sweep.Fills, 1); err != nil {
				return err
			}
		}
	}
	if s.Spread != nil {
		if err := fillsOK("a spread window", s.Spread.Fills, 1); err != nil {
			return err
		}
	}
	for _, a := range s.Aggs {
		if err := fillsOK("an aggregate", a.Fills, 1); err != nil {
			return err
		}
	}
	return nil
}

// drop forgets an underlying, closing its windows without emitting.
func (e *Engine) drop(name string) {
	u, ok := e.unders[name]
	if !ok {
		return
	}
	for _, c := range u.contracts {
		if c.sweep != nil {
			c.sweep.closed = true
		}
	}
	if u.spread != nil {
		u.spread.closed = true
	}
	delete(e.unders, name)
}

// reopen queues a restored window.
func (e *Engine) reopen(s *snapWindow, u *underlying, c *contract, q *queue) *window {
	w := e.newWindow()
	w.spread, w.u, w.c, w.origin = c == nil, u, c, source(s.Origin)
	w.deadline, w.dir, w.bid, w.ask, w.flags = s.Deadline, s.Dir, s.Bid, s.Ask, s.Flags
	w.fills = append(w.fills[:0], fills(s.Fills)...)
	q.push(w)
	return w
}

func snapWin(w *window) *snapWindow {
	if w == nil {
		return nil
	}
	return &snapWindow{Origin: snapSrc(w.origin), Deadline: w.deadline, Dir: w.dir, Fills: snapFills(w.fills), Bid: w.bid, Ask: w.ask,
		Flags: w.flags}
}

func snapSrc(s flow.Source) snapSource { return snapSource{P: s.Partition, O: s.Offset, N: s.N} }

func source(s snapSource) flow.Source { return flow.Source{Partition: s.P, Offset: s.O, N: s.N} }

func snapOne(f flow.Fill) snapFill {
	return snapFill{Src: snapSrc(f.Source), TS: f.TS, Symbol: f.Symbol, Exchange: f.Exchange,
		Price: f.Price, Size: f.Size, Side: f.Side}
}

func fill(s snapFill) flow.Fill {
	return flow.Fill{Source: source(s.Src), TS: s.TS, Symbol: s.Symbol, Exchange: s.Exchange,
		Price: s.Price, Size: s.Size, Side: s.Side}
}

func snapFills(fs []flow.Fill) []snapFill {
	out := make([]snapFill, 0, len(fs))
	for _, f := range fs {
		out = append(out, snapOne(f))
	}
	return out
}

func fills(ss []snapFill) []flow.Fill {
	out := make([]flow.Fill, 0, len(ss))
	for _, s := range ss {
		out = append(out, fill(s))
	}
	return out
}

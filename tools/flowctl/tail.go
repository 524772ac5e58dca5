package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/topics"
)

type tailFlags struct {
	conn       connection
	topic      string
	from       string
	partition  int
	underlying string
	kinds      string
	minPremium float64
	format     string
	count      int
	untilEnd   bool
	dedupe     bool
}

func runTail(ctx context.Context, e env, args []string) error {
	var f tailFlags
	fs := newFlags(e, "tail", "[flags]")
	f.conn.register(fs, e, true)
	fs.StringVar(&f.topic, "topic", topics.Flow, "topic to read: the flow topic, or the ticks topic")
	fs.StringVar(&f.from, "from", "end", "where to start: end (new records only), start, an RFC 3339 time, "+
		"a duration ago (e.g. 15m), or an offset (every partition, or the one of -partition)")
	fs.IntVar(&f.partition, "partition", -1, "read only this partition")
	fs.StringVar(&f.underlying, "underlying", "", "only these underlyings, comma-separated (e.g. AAPL,TSLA)")
	fs.StringVar(&f.kinds, "kind", "", "only these kinds (trade, block, sweep, split, repeated, spread, cancel) or tick types (trade, quote, spot, oi), comma-separated; cancels of a selected underlying always pass")
	fs.Float64Var(&f.minPremium, "min-premium", 0, "only events (or trade ticks) of at least this premium, USD")
	fs.StringVar(&f.format, "format", formatJSON, "output: json (one JSON object a line), csv, or table")
	fs.IntVar(&f.count, "n", 0, "stop after printing this many records; 0 means no limit")
	fs.BoolVar(&f.untilEnd, "until-end", false, "stop at the end of the topic as it was at start instead of waiting for more")
	fs.BoolVar(&f.dedupe, "dedupe", true, "drop a flow event whose key was printed before (a replay after a scorer crash repeats events)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	filt, err := f.check()
	if err != nil {
		return err
	}

	reg, err := f.conn.registryClient()
	if err != nil {
		return err
	}
	dec, err := newDecoder(reg)
	if err != nil {
		return err
	}
	admCl, err := f.conn.client(ctx)
	if err != nil {
		return err
	}
	defer admCl.Close()
	starts, ends, err := f.positions(ctx, kadm.NewClient(admCl))
	if err != nil {
		return err
	}
	need := map[int32]int64{}
	offsets := map[int32]kgo.Offset{}
	for p, at := range starts {
		offsets[p] = kgo.NewOffset().At(at)
		if at < ends[p] {
			need[p] = ends[p]
		}
	}
	if f.untilEnd && len(need) == 0 {
		return nil
	}
	cl, err := f.conn.client(ctx,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{f.topic: offsets}),
		// The scorer's flow records are not transactional today; reading
		// committed records only keeps this right if they ever are.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()

	t := &tailer{e: e, f: f, filt: filt, dec: dec, out: newPrinter(e.stdout, f.format),
		starts: starts, ends: ends, need: need, seen: newKeySet(1 << 20)}
	return t.run(ctx, cl)
}

func (f *tailFlags) check() (filter, error) {
	if err := f.conn.check(); err != nil {
		return filter{}, err
	}
	switch {
	case f.topic == "":
		return filter{}, usagef("-topic is empty")
	case f.format != formatJSON && f.format != formatCSV && f.format != formatTable:
		return filter{}, usagef("-format %q: want json, csv or table", f.format)
	case f.count < 0:
		return filter{}, usagef("-n %d: want 0 (no limit) or more", f.count)
	case f.minPremium < 0:
		return filter{}, usagef("-min-premium %v is negative", f.minPremium)
	}
	if _, err := parseFrom(f.from, time.Now()); err != nil {
		return filter{}, err
	}
	filt := filter{underlyings: set(strings.ToUpper(f.underlying)), kinds: set(strings.ToLower(f.kinds)),
		minPremium: f.minPremium}
	known := map[string]bool{flow.KindTrade: true, flow.KindBlock: true, flow.KindSweep: true,
		flow.KindSplit: true, flow.KindRepeated: true, flow.KindSpread: true, flow.KindCancel: true,
		"quote": true, "spot": true, "oi": true}
	for k := range filt.kinds {
		if !known[k] {
			return filter{}, usagef("-kind %q: unknown kind %q", f.kinds, k)
		}
	}
	return filt, nil
}

func set(list string) map[string]bool {
	out := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out[s] = true
		}
	}
	return out
}

// start is a parsed -from: exactly one of its forms is set.
type start struct {
	end, begin bool
	at         time.Time
	offset     int64
	isOffset   bool
}

func parseFrom(s string, now time.Time) (start, error) {
	switch s {
	case "end", "now":
		return start{end: true}, nil
	case "start", "beginning":
		return start{begin: true}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return start{}, usagef("-from %q: an offset cannot be negative", s)
		}
		return start{offset: n, isOffset: true}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return start{at: t}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return start{at: now.Add(-d)}, nil
	}
	return start{}, usagef("-from %q: want end, start, an RFC 3339 time (2026-12-03T14:30:00Z), a duration ago (15m) or an offset", s)
}

// positions resolves -from to a start offset per partition, and returns the
// end offset of each partition as the run starts.
func (f *tailFlags) positions(ctx context.Context, adm *kadm.Client) (starts, ends map[int32]int64, err error) {
	parts, err := f.partitions(ctx, adm)
	if err != nil {
		return nil, nil, err
	}
	first, err := listed(adm.ListStartOffsets(ctx, f.topic))
	if err != nil {
		return nil, nil, fmt.Errorf("start offsets of %q: %w", f.topic, err)
	}
	last, err := listed(adm.ListEndOffsets(ctx, f.topic))
	if err != nil {
		return nil, nil, fmt.Errorf("end offsets of %q: %w", f.topic, err)
	}
	from, _ := parseFrom(f.from, time.Now())
	var after kadm.ListedOffsets
	if !from.at.IsZero() {
		if after, err = listed(adm.ListOffsetsAfterMilli(ctx, from.at.UnixMilli(), f.topic)); err != nil {
			return nil, nil, fmt.Errorf("offsets of %q after %s: %w", f.topic, from.at.Format(time.RFC3339), err)
		}
	}
	starts, ends = map[int32]int64{}, map[int32]int64{}
	for _, p := range parts {
		lo, _ := first.Lookup(f.topic, p)
		hi, _ := last.Lookup(f.topic, p)
		at := hi.Offset
		switch {
		case from.begin:
			at = lo.Offset
		case from.isOffset:
			at = min(max(from.offset, lo.Offset), hi.Offset)
		case !from.at.IsZero():
			if o, ok := after.Lookup(f.topic, p); ok && o.Offset >= 0 {
				at = o.Offset
			}
		}
		starts[p], ends[p] = at, hi.Offset
	}
	return starts, ends, nil
}

// partitions returns the partitions to read: all of the topic's, or the
// one of -partition.
func (f *tailFlags) partitions(ctx context.Context, adm *kadm.Client) ([]int32, error) {
	details, err := adm.ListTopics(ctx, f.topic)
	if err != nil {
		return nil, fmt.Errorf("describe %q: %w", f.topic, err)
	}
	d, ok := details[f.topic]
	if !ok || d.Err != nil {
		return nil, fmt.Errorf("topic %q does not exist (flowctl topics describe lists liveflow's topics)", f.topic)
	}
	var parts []int32
	for p := range d.Partitions {
		if f.partition < 0 || int32(f.partition) == p {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil, usagef("-partition %d: topic %q has partitions 0 to %d", f.partition, f.topic, len(d.Partitions)-1)
	}
	return parts, nil
}

// listed passes on a listing of offsets, failing on its first error.
func listed(o kadm.ListedOffsets, err error) (kadm.ListedOffsets, error) {
	if err == nil {
		err = o.Error()
	}
	return o, err
}

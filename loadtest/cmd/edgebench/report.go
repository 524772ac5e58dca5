package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/liveflow/liveflow/loadtest/internal/tally"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
)

// Targets the edge must meet, from the project's goals for one edge process.
const (
	targetPerCPU = 100_000 // deliveries per CPU-second of the edge process
	targetP99    = 10_000  // microseconds from Redis write to client read
)

// report is what a run measured.
type report struct {
	cfg        config
	pool       *pool
	clients    []*client
	fanout     float64 // deliveries per written event the filters ask for
	subscribed int
	lo, hi     int64  // the window, as write sequence numbers
	start, end sample // at each end of the window
	behind     int64
	lat        *hdrhistogram.Histogram
	reasons    *tally.Reasons
}

// window returns the seconds between the two samples.
func (r *report) window() float64 { return r.end.at.Sub(r.start.at).Seconds() }

// deliveries returns the events clients received between the two samples.
func (r *report) deliveries() int64 { return r.end.received - r.start.received }

// edgeCPU returns the edge's CPU seconds between the two samples.
func (r *report) edgeCPU() float64 {
	const cpu = "process_cpu_seconds_total"
	return r.end.edge[cpu] - r.start.edge[cpu]
}

// perCPU returns deliveries per CPU-second of the edge.
func (r *report) perCPU() float64 {
	if r.edgeCPU() <= 0 {
		return 0
	}
	return float64(r.deliveries()) / r.edgeCPU()
}

// starved returns the subscribed clients whose filter wanted events of the
// window and that got none of them.
func (r *report) starved() int {
	n := 0
	for _, c := range r.clients {
		if c.subscribed && c.expected > 0 && c.delivered == 0 {
			n++
		}
	}
	return n
}

// met reports whether the edge met every target.
func (r *report) met() bool {
	return r.perCPU() >= targetPerCPU && r.lat.TotalCount() > 0 &&
		r.lat.ValueAtQuantile(99) < targetP99 && r.starved() == 0
}

// row writes one line of the report under a label.
func row(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "%-12s "+format+"\n", append([]any{label}, args...)...)
}

// printSetup describes the scenario before the run starts.
func (r *report) printSetup(w io.Writer, where, fdLine string) {
	c, p := r.cfg, r.pool
	row(w, "edgebench", "%s clients x %d symbols, %s events/s, %d shards",
		commas(int64(c.clients)), c.symbols, trimFloat(c.rate), c.shards)
	for _, line := range strings.Split(where, "\n") {
		row(w, "", "%s", line)
	}
	row(w, "", "%s", fdLine)
	row(w, "pool", "%s scored events from %s synthetic ticks (seed %d), %d B each on average",
		commas(int64(len(p.events))), commas(int64(p.ticks)), c.seed, p.bytes/len(p.events))
	row(w, "", "%s", shares(p, func(e *event) string { return e.Kind }, 7))
	row(w, "", "%d underlyings with events; busiest %s", len(p.underlyings),
		shares(p, func(e *event) string { return e.Underlying }, 6))
	r.printWatchlists(w)
	r.printFilters(w)
	row(w, "fan-out", "%.1f deliveries per written event: about %s deliveries/s at %s events/s",
		r.fanout, commas(int64(r.fanout*c.rate)), trimFloat(c.rate))
}

// shares lists the most frequent values of key over the pool with their
// shares.
func shares(p *pool, key func(*event) string, top int) string {
	count := map[string]int{}
	for i := range p.events {
		count[key(&p.events[i])]++
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(count[b]-count[a], strings.Compare(a, b))
	})
	var parts []string
	for _, k := range keys[:min(top, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %s", k, percent(count[k], len(p.events))))
	}
	return strings.Join(parts, ", ")
}

// percent formats part of whole as a percentage.
func percent(part, whole int) string {
	return strconv.FormatFloat(100*float64(part)/float64(max(whole, 1)), 'f', 1, 64) + "%"
}

func (r *report) printWatchlists(w io.Writer) {
	p := r.pool
	on := make([]int, len(p.underlyings))
	for _, c := range r.clients {
		for _, u := range c.watch {
			on[u]++
		}
	}
	watched := 0
	for _, n := range on {
		if n > 0 {
			watched++
		}
	}
	var parts []string
	for u := range min(5, len(on)) {
		parts = append(parts, p.underlyings[u]+" "+percent(on[u], len(r.clients)))
	}
	row(w, "watchlists", "%d underlyings each, drawn with weight (events in pool)^%s; %d watched",
		r.cfg.symbols, trimFloat(r.cfg.skew), watched)
	row(w, "", "share of watchlists with %s", strings.Join(parts, ", "))
}

func (r *report) printFilters(w io.Writer) {
	count := make([]int, len(watch.Mix))
	for _, c := range r.clients {
		count[c.profile]++
	}
	pass := profilePasses(r.pool)
	for j, prof := range watch.Mix {
		n := 0
		for _, b := range pass {
			if b&(1<<j) != 0 {
				n++
			}
		}
		f := prof.Make(nil)
		label := ""
		if j == 0 {
			label = "filters"
		}
		row(w, label, "%6s of clients: %s (passes %s of events)",
			percent(count[j], len(r.clients)), watch.Describe(&f), percent(n, len(pass)))
	}
}

// print writes the measured figures.
func (r *report) print(w io.Writer) {
	secs := r.window()
	row(w, "window", "%.1fs: %s events written (%.1f/s; writer behind in %d batches)",
		secs, commas(r.hi-r.lo), float64(r.hi-r.lo)/secs, r.behind)
	row(w, "deliveries", "%s events received by clients in the window: %s/s",
		commas(r.deliveries()), commas(int64(float64(r.deliveries())/secs)))
	row(w, "edge CPU", "%.2f s in the window (%.0f%% of one core): %s deliveries per edge CPU-second",
		r.edgeCPU(), 100*r.edgeCPU()/secs, commas(int64(r.perCPU())))
	r.printCPU(w, secs)
	r.printLatency(w)
	r.printClients(w)
	r.printEdgeCounts(w)
	printReasons(w, r.reasons)
	r.printTargets(w)
}

func (r *report) printCPU(w io.Writer, secs float64) {
	self := r.end.self - r.start.self
	line := fmt.Sprintf("edgebench %.2f s (%.0f%% of one core, peak memory %.0f MB)",
		self, 100*self/secs, r.end.selfRSS/(1<<20))
	if r.start.redis >= 0 && r.end.redis >= 0 {
		red := r.end.redis - r.start.redis
		line += fmt.Sprintf(", redis-server %.2f s (%.0f%%)", red, 100*red/secs)
	}
	row(w, "other CPU", "%s", line)
	if total := r.end.total - r.start.total; total > 0 {
		busy := r.end.busy - r.start.busy
		// What the three processes were not charged for is other
		// processes' and kernel work not accounted to a process (some of
		// loopback TCP).
		others := busy - r.edgeCPU() - self - max(0, r.end.redis-r.start.redis)
		row(w, "", "whole machine busy %.0f%% of %d cores; everything else "+
			"(other processes, kernel) %.1f s", 100*busy/total, runtime.NumCPU(), max(0, others))
	}
}

func (r *report) printLatency(w io.Writer) {
	h := r.lat
	missing := int64(0)
	for _, c := range r.clients {
		missing += c.expected - c.delivered
	}
	if h.TotalCount() == 0 {
		row(w, "latency", "no event of the window arrived")
		return
	}
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	row(w, "latency", "p50 %.2f ms, p90 %.2f, p99 %.2f, p99.9 %.2f, max %.2f",
		ms(50), ms(90), ms(99), ms(99.9), float64(h.Max())/1000)
	row(w, "", "Redis write to client read, %s events of the window; "+
		"%s that never arrived are not in it", commas(h.TotalCount()), commas(missing))
}

// totals are the sums of the clients' counts.
type totals struct{ expected, delivered, dups, disorder, unwanted, alien int64 }

func (r *report) printClients(w io.Writer) {
	var expected, delivered []int64
	var sum totals
	none, worst := 0, 1.0
	for _, c := range r.clients {
		if !c.subscribed {
			continue
		}
		expected = append(expected, c.expected)
		delivered = append(delivered, c.delivered)
		sum.add(c)
		if c.expected == 0 {
			none++
		} else {
			worst = min(worst, float64(c.delivered)/float64(c.expected))
		}
	}
	e, d := spreadOf(expected), spreadOf(delivered)
	row(w, "per client", "%s subscribed; of the window's events each one's filter wanted",
		commas(int64(r.subscribed)))
	row(w, "", "min %d, p1 %d, median %d, max %d; and got min %d, p1 %d, median %d, max %d",
		e.min, e.p1, e.p50, e.max, d.min, d.p1, d.p50, d.max)
	row(w, "starved", "%d clients got none of the events their filter wanted; "+
		"the worst got %.1f%% of them; %d wanted none", r.starved(), 100*worst, none)
	row(w, "accounting", "expected %s, delivered %s, lost %s, duplicated %d, out of order %d",
		commas(sum.expected), commas(sum.delivered), commas(sum.expected-sum.delivered), sum.dups,
		sum.disorder)
	row(w, "", "unwanted %d, foreign %d; arrivals counted until %s after the window",
		sum.unwanted, sum.alien, r.cfg.tail)
}

func (t *totals) add(c *client) {
	t.expected += c.expected
	t.delivered += c.delivered
	t.dups += c.dups
	t.disorder += c.disorder
	t.unwanted += c.unwanted
	t.alien += c.alien
}

func (r *report) printEdgeCounts(w io.Writer) {
	var parts []string
	for _, name := range edgeSeries[2:] {
		a, ok1 := r.start.edge[name]
		b, ok2 := r.end.edge[name]
		if ok1 && ok2 {
			short := strings.TrimPrefix(name, "liveflow_edge_")
			parts = append(parts, fmt.Sprintf("%s +%s", short, commas(int64(b-a))))
		}
	}
	if len(parts) > 0 {
		row(w, "edge metrics", "%s", strings.Join(parts, ", "))
	}
	if rss, ok := r.end.edge["process_resident_memory_bytes"]; ok {
		row(w, "", "resident memory %.0f MB", rss/(1<<20))
	}
}

func (r *report) printTargets(w io.Writer) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	p99 := int64(-1)
	if r.lat.TotalCount() > 0 {
		p99 = r.lat.ValueAtQuantile(99)
	}
	perCPU := r.perCPU()
	row(w, "targets", "deliveries per edge CPU-second >= %s: %s, %s",
		commas(targetPerCPU), commas(int64(perCPU)), verdict(perCPU >= targetPerCPU))
	row(w, "", "p99 latency < %d ms: %.2f ms, %s",
		targetP99/1000, float64(p99)/1000, verdict(p99 >= 0 && p99 < targetP99))
	row(w, "", "no client starved: %d starved, %s", r.starved(), verdict(r.starved() == 0))
}

// trimFloat formats v without needless decimals.
func trimFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/liveflow/liveflow/loadtest/internal/prom"
)

func page(t *testing.T, text string) prom.Page {
	t.Helper()
	p, err := prom.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStagesAndCounters(t *testing.T) {
	from := stageScrape{"scorer": page(t, `# TYPE liveflow_scorer_tick_age_seconds histogram
liveflow_scorer_tick_age_seconds_bucket{le="0.001"} 5
liveflow_scorer_tick_age_seconds_bucket{le="0.002"} 5
liveflow_scorer_tick_age_seconds_bucket{le="+Inf"} 5
liveflow_scorer_tick_age_seconds_sum 0.004
liveflow_scorer_tick_age_seconds_count 5
`)}
	to := stageScrape{
		"scorer": page(t, `# TYPE liveflow_scorer_tick_age_seconds histogram
liveflow_scorer_tick_age_seconds_bucket{le="0.001"} 5
liveflow_scorer_tick_age_seconds_bucket{le="0.002"} 105
liveflow_scorer_tick_age_seconds_bucket{le="+Inf"} 105
liveflow_scorer_tick_age_seconds_sum 0.154
liveflow_scorer_tick_age_seconds_count 105
# TYPE liveflow_scorer_events_total counter
liveflow_scorer_events_total{kind="trade"} 90
liveflow_scorer_events_total{kind="sweep"} 10
`),
		"edge": page(t, "liveflow_edge_events_sent_total 7\n"),
	}
	st := stages(from, to)
	if len(st) != 1 || st[0].Name != "ingest to Redis" || st[0].Count != 100 || st[0].Unit != "ms" {
		t.Fatalf("stages %+v", st)
	}
	// All 100 new observations lie in (1, 2] ms: the median interpolates to 1.5.
	if st[0].P50 < 1.499 || st[0].P50 > 1.501 || st[0].Mean < 1.499 || st[0].Mean > 1.501 {
		t.Errorf("stage %+v", st[0])
	}
	c := counters(from, to)
	// A labelled counter first seen after the window opened counts from 0;
	// one of a service not scraped at the start is left out.
	if c["liveflow_scorer_events_total"] != 100 || len(c) != 1 {
		t.Errorf("counters %v", c)
	}
}

func TestSamplerReadsProcesses(t *testing.T) {
	sm := newSampler()
	sm.add(source{name: "loadtest", pid: os.Getpid()})
	sm.add(source{name: "gone", pid: 1 << 30})
	ctx := context.Background()
	sm.sample(ctx)
	burn := 0
	for i := range 20_000_000 {
		burn += i % 7
	}
	sm.sample(ctx)
	sm.remove(ctx, "loadtest")
	sm.sample(ctx)
	usages, busy := sm.between(0, sm.index())
	if len(usages) != 2 || len(busy) != 3 || usages[0].name != "loadtest" || usages[0].how != "/proc" {
		t.Fatalf("usages %+v, busy %v (burned %d)", usages, busy, burn)
	}
	u := usages[0]
	if u.cpu[1] <= 0 || u.rss[1] <= 0 || u.peakRSS <= 0 {
		t.Errorf("loadtest: cpu %v, rss %v", u.cpu, u.rss)
	}
	if usages[1].peakRSS != 0 {
		t.Errorf("a process that does not exist has memory: %+v", usages[1])
	}
}

package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/account"
)

// sample is a result as a short run fills it in.
func sample() *Result {
	h := account.NewHistogram()
	for v := int64(1000); v <= 20_000; v += 10 {
		_ = h.RecordValue(v)
	}
	steady := PercentilesOf(h)
	return &Result{
		Started: time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC), Finished: time.Date(2026, 12, 3, 14, 31, 5, 0, time.UTC),
		Command: "loadtest -profile burst", Machine: Machine{CPUs: 2, Model: "AMD EPYC", LoadBefore: 1.5},
		Target: "local stack",
		Scenario: Scenario{Profile: "burst", Rate: 10_000, Duration: Duration(time.Minute), BurstFactor: 3,
			BurstDuration: Duration(5 * time.Second), Clients: 2000, Symbols: 20, Classes: []int{1800, 100, 100},
			Mix: []Mix{{Filter: "symbols only", Clients: 800}}, Estimate: 50_000},
		Ticks:        Ticks{Sent: 700_000, Seconds: 60, PerSecond: 11_666, Peak: 30_000, Series: []int64{30_000, 10_000, 10_000}},
		Deliveries:   Deliveries{Total: 3_000_000, PerSecond: 50_000, Peak: 90_000, Series: []int64{90_000, 50_000, 50_000}},
		Latency:      map[string]Percentiles{"steady": steady, "slow": steady, "resumer": {}},
		Distribution: map[string][]Point{"steady": DistributionOf(h)},
		Timeline: []Second{{Second: 0, Count: 10, P50: 2, P90: 5, P99: 9, Max: 12},
			{Second: 1, Count: 10, P50: 1, P90: 3, P99: 6, Max: 7}},
		Accounting: account.Totals{Clients: 2000, Expected: 100, Delivered: 99, Lost: 1, Misrouted: 1},
		ByClass:    map[string]account.Totals{"steady": {Clients: 1800, Expected: 90, Delivered: 89, Lost: 1}},
		Lost:       []string{"c1: 11.714.1"},
		Streams:    Streams{Checked: true, Events: 50, Misrouted: 1, Examples: []string{"misrouted: 11.714.1"}},
		Stages:     []Stage{{Name: "ingest to Redis", Unit: "ms", Count: 9, P50: 1.5, P99: 8}},
		Counters:   map[string]float64{"liveflow_edge_events_sent_total": 3e6},
		Processes:  []Process{{Name: "edge", How: "/proc", CPUSeconds: 30, AvgPct: 50, PeakPct: 90, PeakRSSMB: 120, Series: []float64{40, 60}}},
		Busy:       Busy{AvgPct: 97, Series: []float64{95, 99}},
		Ramp: &Ramp{LimitMs: 50, Sustained: 15_000, Steps: []Step{{Rate: 10_000, Sent: 9_990, Latency: steady, Held: true},
			{Rate: 20_000, Sent: 19_000, Latency: Percentiles{Count: 5, P99: 80}}}},
		Gate: Gate{P99LimitMs: 25, AimP50Ms: 3, AimP99Ms: 10, P99Met: true, NoDuplicates: true, AllSubscribed: true,
			NoResumeGaps: true},
	}
}

func TestPercentilesAndDistribution(t *testing.T) {
	r := sample()
	p := r.Latency["steady"]
	if p.Count != 1901 || p.P50 < 10.4 || p.P50 > 10.6 || p.Max < 19.9 || p.Max > 20.1 {
		t.Errorf("percentiles %+v", p)
	}
	d := r.Distribution["steady"]
	if len(d) < 8 || d[0].Percentile != 0 || d[len(d)-1].Ms < d[0].Ms {
		t.Errorf("distribution %+v", d)
	}
	if (PercentilesOf(account.NewHistogram()) != Percentiles{}) {
		t.Error("percentiles of an empty histogram are not zero")
	}
}

func TestPrintFitsAScreen(t *testing.T) {
	var b strings.Builder
	Print(&b, sample())
	out := b.String()
	if n := strings.Count(out, "\n"); n > 40 {
		t.Errorf("summary of %d lines:\n%s", n, out)
	}
	for _, want := range []string{"burst", "p99 ", "lost 1", "1 of the lost are in the streams under another underlying",
		"1 misrouted", "edge 50%", "FAILED", "lost 0: MISSED", "highest sustained rate 15,000", "Commas"} {
		if want == "Commas" {
			if Commas(1234567) != "1,234,567" || Commas(-1000) != "-1,000" || Commas(999) != "999" {
				t.Error("Commas")
			}
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestFilesAreSelfContained(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := r.WriteJSON(filepath.Join(dir, "result.json")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["scenario"].(map[string]any)["duration"] != "1m0s" || back["gate"].(map[string]any)["passed"] != false {
		t.Errorf("JSON: %s", b[:300])
	}

	if err := WriteHTML(filepath.Join(dir, "report.html"), r); err != nil {
		t.Fatal(err)
	}
	h, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(h)
	if n := strings.Count(html, "<svg"); n != 5 {
		t.Errorf("%d plots, want 5 (latency, percentiles, throughput, CPU, ramp)", n)
	}
	for _, want := range []string{"gate FAILED", "Latency over time", "ingest to Redis", "NOT held", "c1: 11.714.1"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Nothing may be fetched when the report is read.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).FindString(html); m != "" {
		t.Errorf("the report refers to the network: %q", m)
	}
}

package prom

import (
	"math"
	"strings"
	"testing"
)

const page = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
liveflow_edge_closes_total{reason="slow"} 2
liveflow_edge_closes_total{reason="ping"} 3
liveflow_edge_routed_total 1.5e+06
process_cpu_seconds_total_other 99
# TYPE age_seconds histogram
age_seconds_bucket{le="0.001"} 10
age_seconds_bucket{le="0.002"} 30
age_seconds_bucket{le="0.004"} 40
age_seconds_bucket{le="+Inf"} 40
age_seconds_sum 0.06
age_seconds_count 40
`

func TestSum(t *testing.T) {
	p, err := Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"process_cpu_seconds_total": 12.5, "liveflow_edge_closes_total": 5,
		"liveflow_edge_routed_total": 1.5e6,
	} {
		if got, ok := p.Sum(name); !ok || got != want {
			t.Errorf("Sum(%s) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := p.Sum("missing"); ok {
		t.Error("Sum of a missing series reports it present")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	p, err := Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	h, ok := p.Histogram("age_seconds")
	if !ok || h.Count != 40 {
		t.Fatalf("Histogram = %+v, %v", h, ok)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	// Rank 20 of 40 lies halfway through the second bucket's 20.
	if q := h.Quantile(0.5); !near(q, 0.0015) {
		t.Errorf("p50 = %v, want 0.0015", q)
	}
	if q := h.Quantile(0.1); !near(q, 0.0004) {
		t.Errorf("p10 = %v, want 0.0004 (within the first bucket from 0)", q)
	}
	if m := h.Mean(); !near(m, 0.0015) {
		t.Errorf("mean = %v", m)
	}

	earlier := Histogram{Bounds: h.Bounds, Counts: []float64{10, 10, 10, 10}, Count: 10, Sum: 0.005}
	d := h.Sub(earlier)
	// Since then: 0 below 1 ms, 20 in (1, 2] ms, 10 in (2, 4] ms.
	if d.Count != 30 || d.Counts[0] != 0 || d.Counts[1] != 20 {
		t.Fatalf("Sub = %+v", d)
	}
	if q := d.Quantile(0.99); !near(q, 0.002+0.002*(29.7-20)/10) {
		t.Errorf("p99 of the difference = %v", q)
	}
	late := Histogram{Bounds: h.Bounds, Counts: []float64{0, 0, 0, 5}, Count: 5}
	if q := late.Quantile(0.5); q != 0.004 {
		t.Errorf("a quantile in the +Inf bucket = %v, want the highest finite bound", q)
	}
	if q := (Histogram{}).Quantile(0.5); !math.IsNaN(q) {
		t.Errorf("quantile of an empty histogram = %v, want NaN", q)
	}
}

// Package prom reads what load tests need from the services' Prometheus
// endpoints: counters and gauges summed over their label sets, and
// histograms, whose difference between two scrapes gives the distribution
// of what happened in between.
package prom

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Page is one scrape of an endpoint, by metric family name.
type Page map[string]*dto.MetricFamily

// Scrape reads url within 5 s.
func Scrape(ctx context.Context, url string) (Page, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("prom: metrics %q: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prom: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("prom: metrics %s: status %s", url, resp.Status)
	}
	return Parse(resp.Body)
}

// Parse reads the Prometheus text format.
func Parse(r io.Reader) (Page, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("prom: %w", err)
	}
	return Page(fams), nil
}

// Sum returns the value of a counter, gauge or untyped series summed over
// its label sets, and whether the page has it.
func (p Page) Sum(name string) (float64, bool) {
	f, ok := p[name]
	if !ok {
		return 0, false
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, true
}

// Histogram is a Prometheus histogram: cumulative counts at each upper
// bound, the last bound +Inf.
type Histogram struct {
	Bounds []float64
	Counts []float64
	Count  float64
	Sum    float64
}

// Histogram returns the histogram name summed over its label sets, and
// whether the page has it.
func (p Page) Histogram(name string) (Histogram, bool) {
	f, ok := p[name]
	if !ok || f.GetType() != dto.MetricType_HISTOGRAM {
		return Histogram{}, false
	}
	at := map[float64]float64{}
	var h Histogram
	for _, m := range f.GetMetric() {
		mh := m.GetHistogram()
		h.Count += float64(mh.GetSampleCount())
		h.Sum += mh.GetSampleSum()
		for _, b := range mh.GetBucket() {
			at[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	at[math.Inf(1)] = h.Count
	for b := range at {
		h.Bounds = append(h.Bounds, b)
	}
	sort.Float64s(h.Bounds)
	for _, b := range h.Bounds {
		h.Counts = append(h.Counts, at[b])
	}
	return h, true
}

// Sub returns what h counted since earlier, a scrape of the same histogram.
func (h Histogram) Sub(earlier Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: make([]float64, len(h.Counts)),
		Count: h.Count - earlier.Count, Sum: h.Sum - earlier.Sum}
	for i, b := range h.Bounds {
		out.Counts[i] = h.Counts[i]
		for j, eb := range earlier.Bounds {
			if eb == b {
				out.Counts[i] -= earlier.Counts[j]
			}
		}
	}
	return out
}

// Quantile estimates the q-quantile (0 to 1) as Prometheus's
// histogram_quantile does: linearly within the bucket it falls in, and the
// highest finite bound when it falls in the +Inf bucket. It returns NaN for
// an empty histogram.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count <= 0 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.Count
	lower, below := 0.0, 0.0
	for i, b := range h.Bounds {
		if h.Counts[i] >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			in := h.Counts[i] - below
			if in <= 0 {
				return b
			}
			return lower + (b-lower)*(rank-below)/in
		}
		if !math.IsInf(b, 1) {
			lower = b
		}
		below = h.Counts[i]
	}
	return lower
}

// Mean returns the average observation, NaN for an empty histogram.
func (h Histogram) Mean() float64 {
	if h.Count <= 0 {
		return math.NaN()
	}
	return h.Sum / h.Count
}

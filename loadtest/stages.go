package main

import (
	"context"
	"math"

	"github.com/liveflow/liveflow/loadtest/internal/prom"
	"github.com/liveflow/liveflow/loadtest/internal/report"
)

// stageScrape is one scrape of every service's metrics, by service name.
type stageScrape map[string]prom.Page

// scrapeStages reads the metrics of the scorer and the edge; a service
// that does not answer is left out.
func scrapeStages(ctx context.Context, t *target) stageScrape {
	out := stageScrape{}
	for _, name := range []string{"scorer", "edge"} {
		if url, ok := t.metrics[name]; ok {
			if page, err := prom.Scrape(ctx, url); err == nil {
				out[name] = page
			}
		}
	}
	return out
}

// stageHistograms are the services' own histograms of the stages an event
// passes, in pipeline order.
var stageHistograms = []struct {
	service, metric, name, what string
	seconds                     bool
}{
	{"scorer", "liveflow_scorer_tick_age_seconds", "ingest to Redis",
		"ingest reading a trade to Redis acknowledging its event (scorer)", true},
	{"scorer", "liveflow_scorer_redis_write_seconds", "Redis write",
		"one batch written to the shard streams (scorer)", true},
	{"edge", "liveflow_edge_pipeline_seconds", "ingest to edge",
		"ingest reading the tick to the edge routing its event (edge)", true},
	{"edge", "liveflow_edge_queue_depth", "client queue",
		"events waiting for a client when its writer wakes (edge)", false},
}

// stages returns each stage's distribution between two scrapes.
func stages(from, to stageScrape) []report.Stage {
	var out []report.Stage
	for _, sh := range stageHistograms {
		a, ok1 := from[sh.service].Histogram(sh.metric)
		b, ok2 := to[sh.service].Histogram(sh.metric)
		if !ok1 || !ok2 {
			continue
		}
		d := b.Sub(a)
		st := report.Stage{Name: sh.name, What: sh.what, Unit: "events", Count: d.Count,
			P50: d.Quantile(0.5), P99: d.Quantile(0.99), Mean: d.Mean()}
		if sh.seconds {
			st.Unit = "ms"
			st.P50, st.P99, st.Mean = 1000*st.P50, 1000*st.P99, 1000*st.Mean
		}
		st.P50, st.P99, st.Mean = finite(st.P50), finite(st.P99), finite(st.Mean)
		out = append(out, st)
	}
	return out
}

// counterSeries are the services' counters worth reporting over the window.
var counterSeries = []struct{ service, metric string }{
	{"scorer", "liveflow_scorer_ticks_total"},
	{"scorer", "liveflow_scorer_events_total"},
	{"scorer", "liveflow_scorer_rejected_total"},
	{"scorer", "liveflow_scorer_duplicate_events_total"},
	{"scorer", "liveflow_scorer_redis_errors_total"},
	{"edge", "liveflow_edge_stream_entries_total"},
	{"edge", "liveflow_edge_events_sent_total"},
	{"edge", "liveflow_edge_event_frames_total"},
	{"edge", "liveflow_edge_dropped_events_total"},
	{"edge", "liveflow_edge_lagged_notices_total"},
	{"edge", "liveflow_edge_slow_consumer_closes_total"},
	{"edge", "liveflow_edge_redis_errors_total"},
}

// counters returns each counter's increase between two scrapes. A counter
// with labels appears with its first label set, so one missing from a
// service's first scrape counts from 0.
func counters(from, to stageScrape) map[string]float64 {
	out := map[string]float64{}
	for _, c := range counterSeries {
		first, scraped := from[c.service]
		a, _ := first.Sum(c.metric)
		b, ok := to[c.service].Sum(c.metric)
		if scraped && ok {
			out[c.metric] = b - a
		}
	}
	return out
}

// finite replaces NaN, which JSON cannot hold, with -1.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	return v
}

package hub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the hub's Prometheus series.
type Metrics struct {
	Readers     prometheus.Gauge
	Entries     prometheus.Counter
	Deliveries  prometheus.Counter
	BadEntries  prometheus.Counter
	RedisErrors prometheus.Counter
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Readers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_edge_shard_readers", Help: "Shard streams this node reads.",
		}),
		Entries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_stream_entries_total", Help: "Entries read from the shard streams.",
		}),
		Deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_deliveries_total", Help: "Events handed to subscribers (one per subscriber).",
		}),
		BadEntries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_bad_entries_total", Help: "Stream entries skipped as malformed.",
		}),
		RedisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_redis_errors_total", Help: "Failed reads of the shard streams.",
		}),
	}
	reg.MustRegister(m.Readers, m.Entries, m.Deliveries, m.BadEntries, m.RedisErrors)
	return m
}

package hub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the hub's Prometheus series.
type Metrics struct {
	Readers     prometheus.Gauge
	Entries     prometheus.Counter
	Deliveries  prometheus.Counter
	BadEntries  prometheus.Counter
	RedisErrors prometheus.Counter
	Lag         prometheus.Histogram // now minus the event's exchange time, at routing
	Pipeline    prometheus.Histogram // now minus the tick's ingest time, at routing

	// With FanoutPubSub: reads of a stream to fill in what notifications did
	// not bring, by reason (see catchUpReasons), and the entries they routed.
	CatchUps       *prometheus.CounterVec
	CatchUpEntries prometheus.Counter
}

// catchUpReasons are the label values of Metrics.CatchUps.
var catchUpReasons = []string{reasonSubscribed, reasonGap, reasonMalformed, reasonUnannounced}

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
			Name: "liveflow_edge_routed_total", Help: "Events offered to connections whose subscriptions name the underlying, before their filters (liveflow_edge_events_sent_total counts those written).",
		}),
		BadEntries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_bad_entries_total", Help: "Stream entries skipped as malformed.",
		}),
		RedisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_edge_redis_errors_total", Help: "Failed reads of the shard streams.",
		}),
	}
	m.Lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "liveflow_edge_event_lag_seconds", Help: "Now minus the exchange time of events as the edge routes them.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	m.Pipeline = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "liveflow_edge_pipeline_seconds",
		Help:    "Now minus the time ingest read the tick, as the edge routes its event.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	m.CatchUps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liveflow_edge_catchups_total",
		Help: "Reads of a shard stream to fill in what Pub/Sub notifications did not bring, by reason.",
	}, []string{"reason"})
	for _, r := range catchUpReasons {
		m.CatchUps.WithLabelValues(r)
	}
	m.CatchUpEntries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_edge_catchup_entries_total",
		Help: "Stream entries routed from catch-up reads rather than from notifications.",
	})
	reg.MustRegister(m.Readers, m.Entries, m.Deliveries, m.BadEntries, m.RedisErrors, m.Lag, m.Pipeline,
		m.CatchUps, m.CatchUpEntries)
	return m
}

package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the ingest service's Prometheus series. The feed label is
// the feed's role, primary or secondary.
type Metrics struct {
	Ticks          *prometheus.CounterVec // by type
	Rejected       *prometheus.CounterVec // by reason
	Produced       prometheus.Counter
	ProduceErrors  prometheus.Counter
	FeedRestarts   *prometheus.CounterVec // by feed
	BreakerState   *prometheus.GaugeVec   // by feed
	BreakerChanges *prometheus.CounterVec // by feed, to
	FeedUp         *prometheus.GaugeVec   // by feed
	FeedActive     *prometheus.GaugeVec   // by feed
	Switches       *prometheus.CounterVec // by to
	Duplicates     prometheus.Counter
	StandbyTicks   prometheus.Counter
	SequenceGaps   *prometheus.CounterVec // by feed
	SequenceMissed *prometheus.CounterVec // by feed
	Stalls         *prometheus.CounterVec // by feed
	VendorStatus   *prometheus.CounterVec // by feed, status
	Degraded       prometheus.Gauge
	StatusErrors   prometheus.Counter
	OILoads        *prometheus.CounterVec // by result
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	counters := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	gauges := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		Ticks: counters("liveflow_ingest_ticks_total", "Ticks accepted from the feed, by type.", "type"),
		Rejected: counters("liveflow_ingest_rejected_total",
			"Feed input rejected, by reason (malformed, unknown_type, bad_symbol, invalid, expired, future, past, "+
				"encode).", "reason"),
		Produced:      counter("liveflow_ingest_produced_total", "Ticks acknowledged by Kafka."),
		ProduceErrors: counter("liveflow_ingest_produce_errors_total", "Ticks Kafka did not acknowledge."),
		FeedRestarts: counters("liveflow_ingest_feed_restarts_total",
			"Times a feed failed and was started again.", "feed"),
		BreakerState: gauges("liveflow_ingest_feed_breaker_state",
			"Circuit breaker around a feed: 0 closed, 1 half-open, 2 open.", "feed"),
		BreakerChanges: counters("liveflow_ingest_feed_breaker_changes_total",
			"State changes of a feed's circuit breaker, by the state entered.", "feed", "to"),
		FeedUp: gauges("liveflow_ingest_feed_up",
			"1 while a feed is connected (authenticated and subscribed, or delivering).", "feed"),
		FeedActive: gauges("liveflow_ingest_feed_active", "1 for the feed whose ticks go to Kafka.", "feed"),
		Switches: counters("liveflow_ingest_feed_switches_total",
			"Failovers to the secondary feed and returns to the primary, by the feed switched to.", "to"),
		Duplicates: counter("liveflow_ingest_duplicates_dropped_total",
			"Ticks a new connection or feed delivered again after a switch, dropped before Kafka."),
		StandbyTicks: counter("liveflow_ingest_standby_ticks_total",
			"Ticks of a feed that was not the active one, dropped."),
		SequenceGaps: counters("liveflow_ingest_sequence_gaps_total",
			"Times a symbol's sequence numbers skipped, by feed.", "feed"),
		SequenceMissed: counters("liveflow_ingest_sequence_missed_total",
			"Messages the skipped sequence numbers stand for, by feed.", "feed"),
		Stalls: counters("liveflow_ingest_feed_stalls_total",
			"Times a feed went silent during market hours and was reconnected.", "feed"),
		VendorStatus: counters("liveflow_ingest_vendor_status_total",
			"Status messages of the vendor, by feed and status.", "feed", "status"),
		Degraded: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liveflow_ingest_feed_degraded",
			Help: "1 while the published feed status is degraded."}),
		StatusErrors: counter("liveflow_ingest_status_write_errors_total",
			"Failed writes of the feed status to Redis."),
		OILoads: counters("liveflow_ingest_oi_loads_total",
			"Open-interest snapshot loads, by result (ok, error).", "result"),
	}
	reg.MustRegister(m.Ticks, m.Rejected, m.Produced, m.ProduceErrors, m.FeedRestarts, m.BreakerState,
		m.BreakerChanges, m.FeedUp, m.FeedActive, m.Switches, m.Duplicates, m.StandbyTicks,
		m.SequenceGaps, m.SequenceMissed, m.Stalls, m.VendorStatus, m.Degraded, m.StatusErrors, m.OILoads)
	return m
}

package scorer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the scorer's Prometheus series.
type Metrics struct {
	Ticks       *prometheus.CounterVec // by tick type
	Rejected    *prometheus.CounterVec // by reason
	Events      *prometheus.CounterVec // by kind
	Duplicates  prometheus.Counter
	RedisErrors prometheus.Counter
	WriteTime   prometheus.Histogram
	TickAge     prometheus.Histogram
	Partitions  prometheus.Gauge

	CheckpointTime    prometheus.Histogram
	CheckpointRecords prometheus.Counter
	CheckpointErrors  prometheus.Counter
	RestoreTime       prometheus.Histogram

	FlowRecords  prometheus.Counter
	FlowErrors   prometheus.Counter
	FlowWaitTime prometheus.Histogram

	DeadLetterErrors prometheus.Counter
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Ticks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_scorer_ticks_total", Help: "Ticks consumed, by type.",
		}, []string{"type"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_scorer_rejected_total",
			Help: "Records skipped and set aside in the dead-letter topic, by reason (malformed, schema, " +
				"unknown_type, bad_value, bad_symbol, expired, future, past, invalid, encode).",
		}, []string{"reason"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_scorer_events_total",
			Help: "Scored events Redis acknowledged, by kind, replays included (see duplicate_events).",
		}, []string{"kind"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_scorer_duplicate_events_total",
			Help: "Events not written again because their tick had been applied before (replays).",
		}),
		RedisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_scorer_redis_errors_total", Help: "Failed Redis batch writes (each is retried).",
		}),
		WriteTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "liveflow_scorer_redis_write_seconds", Help: "Time to write one batch to Redis.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		TickAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "liveflow_scorer_tick_age_seconds",
			Help:    "Time from ingest reading a trade to Redis acknowledging its event.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		Partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_scorer_partitions", Help: "Partitions of the ticks topic this scorer owns.",
		}),
	}
	m.CheckpointTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "liveflow_scorer_checkpoint_seconds", Help: "Time to save the changed state of owned partitions.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	m.CheckpointRecords = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_scorer_checkpoint_records_total", Help: "Records written to the state topic.",
	})
	m.CheckpointErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_scorer_checkpoint_errors_total", Help: "Checkpoints that failed and were retried later.",
	})
	m.RestoreTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "liveflow_scorer_restore_seconds", Help: "Time to read the state of newly assigned partitions.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	})
	m.FlowRecords = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_scorer_flow_records_total",
		Help: "Events Kafka acknowledged on the flow topic, replays included.",
	})
	m.FlowErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_scorer_flow_errors_total",
		Help: "Batches whose flow records Kafka refused; the scorer stops without committing them.",
	})
	m.FlowWaitTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "liveflow_scorer_flow_wait_seconds",
		Help:    "Time from the end of a batch's Redis write until Kafka acknowledged its flow records.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	m.DeadLetterErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "liveflow_scorer_dead_letter_errors_total",
		Help: "Skipped records Kafka refused to take into the dead-letter topic; each is logged with its place.",
	})
	reg.MustRegister(m.FlowRecords, m.FlowErrors, m.FlowWaitTime, m.DeadLetterErrors)
	reg.MustRegister(m.Ticks, m.Rejected, m.Events, m.Duplicates, m.RedisErrors, m.WriteTime, m.TickAge, m.Partitions,
		m.CheckpointTime, m.CheckpointRecords, m.CheckpointErrors, m.RestoreTime)
	return m
}

package consume

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the consumer.
type Metrics struct {
	Entries      *prometheus.CounterVec // entries handled, by source: read or claimed
	Matched      *prometheus.CounterVec // (rule, event) pairs, by destination type
	DeadLettered *prometheus.CounterVec // by reason
	Lost         prometheus.Counter     // entries another instance took over mid-delivery
	RedisErrors  *prometheus.CounterVec // by operation
	InFlight     prometheus.Gauge
}

// NewMetrics registers the consumer's metrics with reg; nil keeps them
// unregistered, for tests.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Entries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_entries_total",
			Help: "Shard stream entries handled, by source: read (new to the group) or claimed (taken over from a silent instance).",
		}, []string{"source"}),
		Matched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_matched_total", Help: "Events a rule matched, once per rule, by destination type.",
		}, []string{"type"}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_dead_lettered_total",
			Help: "Entries or alerts written to the dead-letter stream, by reason.",
		}, []string{"reason"}),
		Lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_alerts_lost_total",
			Help: "Entries another instance took over while this one was delivering them (this instance was silent too long).",
		}),
		RedisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_redis_errors_total", Help: "Failed Redis calls, by operation.",
		}, []string{"op"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_alerts_in_flight", Help: "Entries whose alerts are being delivered.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Entries, m.Matched, m.DeadLettered, m.Lost, m.RedisErrors, m.InFlight)
	}
	return m
}

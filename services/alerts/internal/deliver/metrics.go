package deliver

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of deliveries, labelled by destination type.
type Metrics struct {
	Delivered    *prometheus.CounterVec   // alerts the receiver accepted
	Retried      *prometheus.CounterVec   // attempts after a failed one
	Failed       *prometheus.CounterVec   // failed attempts and alerts given up, by reason
	Latency      *prometheus.HistogramVec // from the event entering its stream to the receiver's answer
	OpenCircuits prometheus.Gauge
	Destinations prometheus.Gauge
}

// NewMetrics registers the delivery metrics with reg; a nil reg keeps them
// unregistered, for tests.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_delivered_total", Help: "Alerts the receiver accepted (2xx), by destination type.",
		}, []string{"type"}),
		Retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_retried_total", Help: "Delivery attempts made after a failed one, by destination type.",
		}, []string{"type"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_failed_total",
			Help: "Failed delivery attempts by reason (network, timeout, http_5xx, http_429, http_4xx, redirect, " +
				"blocked, circuit), and alerts given up without a last attempt (backlog, expired, encode).",
		}, []string{"type", "reason"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "liveflow_alerts_delivery_latency_seconds",
			Help:    "Time from an event entering its shard stream to the receiver accepting its alert.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"type"}),
		OpenCircuits: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_alerts_open_circuits", Help: "Destinations whose circuit breaker is open.",
		}),
		Destinations: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_alerts_destinations", Help: "Destinations with a worker: alerts sent or queued recently.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Delivered, m.Retried, m.Failed, m.Latency, m.OpenCircuits, m.Destinations)
	}
	return m
}

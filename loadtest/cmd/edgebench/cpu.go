package main

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/loadtest/internal/proc"
)

// sample is what the run reads at each end of the measured window.
type sample struct {
	at       time.Time
	edge     map[string]float64 // the edge's series
	self     float64            // CPU seconds of edgebench
	selfRSS  float64            // peak resident memory of edgebench, bytes
	redis    float64            // CPU seconds of redis-server; -1 when unknown
	busy     float64            // CPU seconds of the whole machine, busy and in total,
	total    float64            // over all cores
	received int64              // events all clients received so far
}

// take reads a sample.
func take(ctx context.Context, metricsURL string, rdb *redis.Client,
	clients []*client) (sample, error) {
	s := sample{at: time.Now(), redis: -1}
	var err error
	if s.edge, err = scrape(ctx, metricsURL, edgeSeries); err != nil {
		return s, err
	}
	for _, c := range clients {
		s.received += c.received.Load()
	}
	if u, err := proc.Self(); err == nil {
		s.self, s.selfRSS = u.CPU, u.PeakRSS
	}
	s.busy, s.total = proc.Machine()
	if info, err := rdb.Info(ctx, "cpu").Result(); err == nil {
		s.redis, _, _ = proc.RedisInfo(info)
	}
	return s, nil
}

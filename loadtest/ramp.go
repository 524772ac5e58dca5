package main

import (
	"context"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/account"
	"github.com/liveflow/liveflow/loadtest/internal/report"
)

// ramp sends steady steps of rising rate, each with an ingest process of
// its own, until a step's p99 reaches the limit or the last step ran. After
// each step it waits for the pipeline to deliver what it took in, then
// judges the step by the latency of the steady clients' events whose ticks
// ingest read during it.
func (s *session) ramp(ctx context.Context) error {
	r := &report.Ramp{LimitMs: ms(s.cfg.rampLimit)}
	s.res.Ramp = r
	cursors := make([]int, len(s.clients))
	for rate := s.cfg.rampStart; rate <= s.cfg.rampMax; rate += s.cfg.rampStep {
		before, err := s.offsets(ctx)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := s.send(ctx, feed{rate: rate, factor: 1}, s.cfg.rampHold, false); err != nil {
			return err
		}
		end := time.Now()
		after, err := s.offsets(ctx)
		if err != nil {
			return err
		}
		// A step that does not settle within the tail is judged as it is:
		// its late events are missing from its histogram, and the next
		// step would start on a backlog.
		ranOut := s.settle(ctx, after, s.cfg.tail)
		h := account.NewHistogram()
		lo, hi := uint32((start.UnixNano()-s.cr.origin)/1e6), uint32((end.UnixNano()-s.cr.origin)/1e6)
		for i, c := range s.clients {
			if c.class != account.Steady {
				continue
			}
			recs := c.liveSince(cursors[i])
			cursors[i] += len(recs)
			for _, rec := range recs {
				if rec.At >= lo && rec.At < hi {
					_ = h.RecordValue(int64(max(rec.Lat, 1)))
				}
			}
		}
		st := report.Step{Rate: rate, Sent: float64(after.Total()-before.Total()) / end.Sub(start).Seconds(),
			Latency: report.PercentilesOf(h)}
		st.Held = !ranOut && st.Latency.Count > 0 && st.Latency.P99 < r.LimitMs
		r.Steps = append(r.Steps, st)
		verdict := map[bool]string{true: "held", false: "NOT held"}[st.Held]
		if st.Latency.Count == 0 && !ranOut {
			verdict = "no events arrived: inconclusive, next step"
		}
		line(s.out, "ramp", "%s ticks/s asked, %s sent: p50 %.1f ms, p99 %.1f ms, max %.1f ms over %s events: %s",
			commas(int64(rate)), commas(int64(st.Sent)), st.Latency.P50, st.Latency.P99, st.Latency.Max,
			commas(st.Latency.Count), verdict)
		if st.Latency.Count == 0 && !ranOut {
			continue
		}
		if !st.Held {
			break
		}
		r.Sustained = st.Sent
	}
	return nil
}

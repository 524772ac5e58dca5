package ingest

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/ingest/internal/status"
)

// TestFeedEventsBoundAFloodOfGaps: every gap is counted, but a flood costs
// only a few log lines and keeps the status degraded.
func TestFeedEventsBoundAFloodOfGaps(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	logs := &testkit.Logs{}
	board := status.NewBoard(nil)
	e := &FeedEvents{Role: Primary, Name: "polygon:ws://x/options", Metrics: m, Log: logs, Board: board,
		GapHold: time.Minute, Limiter: svc.NewLogLimiter(time.Hour, 5)}
	for i := int64(0); i < 1000; i++ {
		e.SequenceGap("SPY   261218C00600000", "Q", 2*i, 2*i+3)
	}
	if n := testutil.ToFloat64(m.SequenceGaps.WithLabelValues(Primary)); n != 1000 {
		t.Errorf("gaps %v, want 1000", n)
	}
	if n := testutil.ToFloat64(m.SequenceMissed.WithLabelValues(Primary)); n != 2000 {
		t.Errorf("missed %v, want 2000", n)
	}
	if n := logs.Count("warn", "sequence gap"); n != 5 {
		t.Errorf("%d gap lines, want the burst of 5", n)
	}
	if s, _ := board.Snapshot(); s.Reason != status.SequenceGap {
		t.Errorf("status %+v, want degraded by the gaps", s)
	}
}

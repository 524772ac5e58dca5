package ingest

import (
	"fmt"
	"time"

	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/services/ingest/internal/status"
)

// slotGap is the board slot of recent sequence gaps.
const slotGap = "sequence_gap"

// FeedEvents turns what a vendor feed notices (polygon.Events) into
// metrics, log lines and the status board. It is safe for concurrent use.
type FeedEvents struct {
	Role    string // primary or secondary: the metric label
	Name    string // the feed's name, for logs
	Metrics *Metrics
	Log     Logger
	Board   *status.Board
	// GapHold is how long a sequence gap keeps the status degraded.
	GapHold time.Duration
	// Limiter, when set, bounds the gap log lines of a flood of gaps.
	Limiter *svc.LogLimiter
}

// SequenceGap counts and logs a gap and holds the status degraded.
func (e *FeedEvents) SequenceGap(symbol, ev string, last, got int64) {
	missed := got - last - 1
	e.Metrics.SequenceGaps.WithLabelValues(e.Role).Inc()
	e.Metrics.SequenceMissed.WithLabelValues(e.Role).Add(float64(missed))
	// A flood of gaps (a vendor whose numbers are not consecutive) costs a
	// few lines and board updates a second, which keep the hold renewed.
	ok, held := e.allow()
	if !ok {
		return
	}
	e.Log.Warnw("sequence gap: messages were missed", "feed", e.Name, "role", e.Role, "symbol", symbol,
		"event", ev, "last", last, "got", got, "missed", missed, "gap_lines_held_back", held)
	e.Board.Hold(slotGap, status.SequenceGap,
		fmt.Sprintf("%s skipped %d %s messages of %s (sequence %d to %d)", e.Name, missed, ev, symbol, last, got),
		e.GapHold)
}

func (e *FeedEvents) allow() (bool, int) {
	if e.Limiter == nil {
		return true, 0
	}
	return e.Limiter.Allow("gap " + e.Role)
}

// Stalled counts and logs a stall; the feed's restart puts it on the board.
func (e *FeedEvents) Stalled(idle time.Duration) {
	e.Metrics.Stalls.WithLabelValues(e.Role).Inc()
	e.Log.Warnw("feed stalled: no message during market hours; reconnecting", "feed", e.Name,
		"role", e.Role, "idle", idle.Round(time.Millisecond))
}

// vendorStatuses are the status values counted by name; others count as
// "other", so a vendor cannot grow the metric without bound.
var vendorStatuses = map[string]bool{
	"connected": true, "auth_success": true, "auth_failed": true, "auth_timeout": true,
	"success": true, "max_connections": true, "error": true,
}

// Status counts a vendor status message and logs it.
func (e *FeedEvents) Status(st, message string) {
	label := st
	if !vendorStatuses[label] {
		label = "other"
	}
	e.Metrics.VendorStatus.WithLabelValues(e.Role, label).Inc()
	switch st {
	case "connected", "auth_success", "success":
		e.Log.Infow("vendor status", "feed", e.Name, "role", e.Role, "status", st, "message", message)
	case "auth_failed":
		e.Log.Warnw("vendor refused the key (check LIVEFLOW_VENDOR_KEY or -vendor-key-file)",
			"feed", e.Name, "role", e.Role, "message", message)
	default:
		e.Log.Warnw("vendor status", "feed", e.Name, "role", e.Role, "status", st, "message", message)
	}
}

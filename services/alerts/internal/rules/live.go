package rules

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Logger is what the rules report to; zap's SugaredLogger is one.
type Logger interface {
	Infow(msg string, keysAndValues ...any)
	Warnw(msg string, keysAndValues ...any)
}

// Live is the current Set of an instance, reloaded whenever the rules
// change. Current and Version may be called from any goroutine.
type Live struct {
	store   *Store
	log     Logger
	set     atomic.Pointer[Set]
	version atomic.Int64
	active  prometheus.Gauge
	invalid prometheus.Counter
	failing bool // the last reload failed; owned by Run
}

// NewLive returns a Live with no rules; Load or Run fill it. reg may be nil.
func NewLive(store *Store, reg prometheus.Registerer, log Logger) *Live {
	l := &Live{
		store: store, log: log,
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveflow_alerts_rules", Help: "Active (not paused) alert rules this instance matches events against.",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveflow_alerts_rules_invalid_total",
			Help: "Stored rules left out of a reload because they no longer decode or pass their checks.",
		}),
	}
	if reg != nil {
		reg.MustRegister(l.active, l.invalid)
	}
	l.set.Store(NewSet(nil))
	l.version.Store(-1)
	return l
}

// Current returns the rules to match events against.
func (l *Live) Current() *Set { return l.set.Load() }

// Version returns the version of Current, -1 before the first load.
func (l *Live) Version() int64 { return l.version.Load() }

// Load reads every rule now. Rules that do not decode or compile are left
// out, counted and logged; the others still apply.
func (l *Live) Load(ctx context.Context) error {
	all, version, bad, err := l.store.Load(ctx)
	if err != nil {
		return err
	}
	compiled := make([]*Compiled, 0, len(all))
	for id, err := range bad {
		l.invalid.Inc()
		l.log.Warnw("stored rule does not decode; it is ignored until it is replaced", "rule", id, "error", err)
	}
	for _, r := range all {
		c, err := Compile(r)
		if err != nil {
			l.invalid.Inc()
			l.log.Warnw("stored rule is not valid; it is ignored until it is replaced", "rule", r.ID, "error", err)
			continue
		}
		compiled = append(compiled, c)
	}
	set := NewSet(compiled)
	l.set.Store(set)
	l.version.Store(version)
	l.active.Set(float64(set.Len()))
	return nil
}

// Run keeps the rules current until ctx ends: it reloads when the change
// channel announces a newer version and, since Pub/Sub keeps nothing, when
// polling the version every poll finds it newer.
func (l *Live) Run(ctx context.Context, poll time.Duration) {
	sub := l.store.rdb.Subscribe(ctx, Channel)
	defer sub.Close()
	msgs := sub.Channel()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	l.refresh(ctx, -1)
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			v, err := strconv.ParseInt(m.Payload, 10, 64)
			if err != nil {
				v = -1
			}
			l.refresh(ctx, v)
		case <-tick.C:
			l.refresh(ctx, -1)
		}
	}
}

// refresh reloads when the rules changed since the last load: when the
// announced version is newer, or, with announced -1, when the stored one is.
func (l *Live) refresh(ctx context.Context, announced int64) {
	current := l.version.Load()
	if announced >= 0 && announced <= current {
		return
	}
	if announced < 0 {
		v, err := l.store.Version(ctx)
		if err != nil {
			l.failed(ctx, err)
			return
		}
		if v == current {
			l.recovered()
			return
		}
	}
	if err := l.Load(ctx); err != nil {
		l.failed(ctx, err)
		return
	}
	l.recovered()
	l.log.Infow("alert rules loaded", "version", l.version.Load(), "active", l.Current().Len())
}

func (l *Live) failed(ctx context.Context, err error) {
	if ctx.Err() == nil && !l.failing {
		l.failing = true
		l.log.Warnw("cannot read the alert rules; matching with the last ones loaded until Redis answers",
			"error", err)
	}
}

func (l *Live) recovered() {
	if l.failing {
		l.failing = false
		l.log.Infow("alert rules readable again")
	}
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
	"github.com/liveflow/liveflow/services/ingest/internal/polygon"
	"github.com/liveflow/liveflow/services/ingest/internal/status"
)

// The roles of the feeds, as metric labels.
const (
	Primary   = "primary"
	Secondary = "secondary"
)

// Board slots the supervisor owns.
const (
	slotFeed     = "feed"
	slotFailover = "failover"
)

// Restart delays: the first retry comes after 50 to 100 ms, each further
// one waits twice as long, up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// Feeds configures RunFeeds.
type Feeds struct {
	Primary   feed.Source
	Secondary feed.Source // nil: no failover
	Sink      feed.Sink
	Metrics   *Metrics
	Log       Logger
	Board     *status.Board // where the feed's condition is kept; nil: nowhere
	// TripAfter consecutive failed attempts open a feed's breaker, which
	// then holds attempts off for CoolDown.
	TripAfter uint32
	CoolDown  time.Duration
}

// RunFeed runs one source into sink; see RunFeeds.
func RunFeed(ctx context.Context, src feed.Source, sink feed.Sink, m *Metrics, log Logger,
	tripAfter uint32, coolDown time.Duration) error {
	return RunFeeds(ctx, Feeds{Primary: src, Sink: sink, Metrics: m, Log: log, TripAfter: tripAfter,
		CoolDown: coolDown})
}

// RunFeeds runs the primary feed into the sink until it ends (a finished
// tape) or ctx does, and returns nil.
//
// A feed that fails is started again after a jittered delay that doubles
// with each consecutive failure. Each feed has a circuit breaker: an attempt
// counts as a success once the feed is up (connected, or delivering), as a
// failure when it ends before; TripAfter failures in a row open the breaker
// and hold attempts off for CoolDown, after which one probe may try.
//
// With a secondary, the primary's breaker opening starts the secondary and
// makes it the active feed, whose ticks go to the sink; the primary keeps
// being probed and, once up again, is active again and the secondary is
// stopped. Ticks a feed delivers again on a new connection or after a
// switch are dropped (see router), so a switch duplicates nothing.
func RunFeeds(ctx context.Context, cfg Feeds) error {
	if cfg.Board == nil {
		cfg.Board = status.NewBoard(nil)
	}
	s := &supervisor{cfg: cfg, router: newRouter(cfg.Sink, cfg.Metrics)}
	s.lanes = []*lane{s.newLane(0, Primary, cfg.Primary)}
	if cfg.Secondary != nil {
		s.lanes = append(s.lanes, s.newLane(1, Secondary, cfg.Secondary))
	}
	s.activate(0)
	s.refresh()
	s.lanes[0].run(ctx)
	s.stopSecondary()
	s.wg.Wait()
	return nil
}

// supervisor runs the lanes and decides which is active.
type supervisor struct {
	cfg    Feeds
	router *router
	lanes  []*lane // [primary, secondary]
	wg     sync.WaitGroup

	mu            sync.Mutex // guards what follows and the lanes' state fields
	secondaryStop context.CancelFunc
	secondaryDone chan struct{} // closed when the secondary's lane returns; nil before its first start
	secondaryEnd  bool          // the secondary's feed finished and is not started again
}

// lane is one feed with its breaker. Its state fields are guarded by
// supervisor.mu.
type lane struct {
	i    int
	role string
	src  feed.Source
	cb   *gobreaker.TwoStepCircuitBreaker[struct{}]
	s    *supervisor

	up       bool
	lastErr  error
	breaker  gobreaker.State
	finished bool
}

func (s *supervisor) newLane(i int, role string, src feed.Source) *lane {
	l := &lane{i: i, role: role, src: src, s: s}
	m, log := s.cfg.Metrics, s.cfg.Log
	l.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        role,
		MaxRequests: 1,
		Timeout:     s.cfg.CoolDown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= s.cfg.TripAfter },
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, context.Canceled)
		},
		// Called with the breaker's lock held: it must not call the breaker.
		OnStateChange: func(_ string, from, to gobreaker.State) {
			m.BreakerState.WithLabelValues(role).Set(float64(to))
			m.BreakerChanges.WithLabelValues(role, to.String()).Inc()
			log.Warnw("feed circuit breaker changed state", "feed", src.Name(), "role", role,
				"from", from.String(), "to", to.String())
			s.mu.Lock()
			l.breaker = to
			s.mu.Unlock()
			s.refresh()
		},
	})
	m.BreakerState.WithLabelValues(role).Set(0)
	m.FeedUp.WithLabelValues(role).Set(0)
	m.FeedActive.WithLabelValues(role).Set(0)
	return l
}

// run attempts the lane's feed until ctx ends (false) or the feed finishes
// (true).
func (l *lane) run(ctx context.Context) (finished bool) {
	backoff := minBackoff
	for {
		if done, err := l.cb.Allow(); err == nil {
			a := &attempt{l: l, gen: l.s.router.nextGen(), done: done}
			err = l.src.Run(ctx, a)
			if ctx.Err() != nil {
				a.end(ctx.Err(), true)
				return false
			}
			a.end(err, false)
			if err == nil {
				l.s.cfg.Log.Infow("feed finished", "feed", l.src.Name(), "role", l.role)
				return true
			}
			if a.up {
				backoff = minBackoff // it worked for a while: start over
			}
			l.s.cfg.Metrics.FeedRestarts.WithLabelValues(l.role).Inc()
			l.s.cfg.Log.Warnw("feed failed; restarting", "feed", l.src.Name(), "role", l.role,
				"in", backoff, "err", err)
		}
		if l.i == 0 {
			l.s.maybeFailOver(ctx)
		}
		if sleep(ctx, jitter(backoff)) != nil {
			return false
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// attempt is the sink a source sees during one Run: it tells the
// supervisor when the feed is up and routes ticks with the attempt's
// generation. Its methods run on the source's goroutine.
type attempt struct {
	l    *lane
	gen  uint64
	done func(error) // reports the attempt to the breaker; called once
	up   bool
}

func (a *attempt) Tick(ctx context.Context, t *tick.Tick, seq int64) error {
	if !a.up {
		a.Up()
	}
	return a.l.s.router.deliver(ctx, a.l.i, a.gen, t, seq)
}

func (a *attempt) Reject(reason string, err error) { a.l.s.cfg.Sink.Reject(reason, err) }

// Up counts the attempt as a success.
func (a *attempt) Up() {
	if a.up {
		return
	}
	a.up = true
	a.done(nil)
	a.l.s.laneUp(a.l)
}

// end records how the attempt ended; before Up, err counts for the breaker.
// stopped means the lane was stopped (shutdown, or a secondary no longer
// needed), which is no news for the status.
func (a *attempt) end(err error, stopped bool) {
	a.l.s.laneDown(a.l, err, stopped)
	if !a.up {
		a.done(err)
	}
}

func (s *supervisor) laneUp(l *lane) {
	s.mu.Lock()
	l.up, l.lastErr = true, nil
	s.mu.Unlock()
	s.cfg.Metrics.FeedUp.WithLabelValues(l.role).Set(1)
	if l.i == 0 && s.router.active.Load() != 0 {
		s.failBack()
	}
	s.refresh()
}

func (s *supervisor) laneDown(l *lane, err error, stopped bool) {
	s.mu.Lock()
	l.up, l.lastErr, l.finished = false, err, err == nil
	s.mu.Unlock()
	s.cfg.Metrics.FeedUp.WithLabelValues(l.role).Set(0)
	if !stopped {
		s.refresh()
	}
}

// activate makes lane i the active one, for the router, the metrics and
// the board.
func (s *supervisor) activate(i int) {
	s.router.setActive(i)
	for _, l := range s.lanes {
		v := 0.0
		if l.i == i {
			v = 1
		}
		s.cfg.Metrics.FeedActive.WithLabelValues(l.role).Set(v)
	}
}

// maybeFailOver starts the secondary and makes it active when the
// primary's breaker is open. It runs on the primary's goroutine.
func (s *supervisor) maybeFailOver(ctx context.Context) {
	if len(s.lanes) < 2 || s.lanes[0].cb.State() != gobreaker.StateOpen || s.router.active.Load() == 1 {
		return
	}
	s.mu.Lock()
	if s.secondaryEnd {
		s.mu.Unlock()
		return
	}
	prev := s.secondaryDone
	s.mu.Unlock()
	if prev != nil {
		<-prev // a secondary stopped by a fail-back may still be returning
	}

	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	s.mu.Lock()
	s.secondaryStop, s.secondaryDone = stop, done
	s.mu.Unlock()
	s.activate(1)
	s.cfg.Metrics.Switches.WithLabelValues(Secondary).Inc()
	s.cfg.Log.Warnw("primary feed is failing; switching to the secondary",
		"primary", s.lanes[0].src.Name(), "secondary", s.lanes[1].src.Name())
	s.wg.Go(func() {
		defer close(done)
		if s.lanes[1].run(sctx) {
			s.mu.Lock()
			s.secondaryEnd = true
			s.mu.Unlock()
		}
	})
	s.refresh()
}

// failBack makes the primary active again and stops the secondary.
func (s *supervisor) failBack() {
	s.activate(0)
	s.stopSecondary()
	s.cfg.Metrics.Switches.WithLabelValues(Primary).Inc()
	s.cfg.Log.Infow("primary feed is up again; switched back from the secondary",
		"primary", s.lanes[0].src.Name())
}

func (s *supervisor) stopSecondary() {
	s.mu.Lock()
	stop := s.secondaryStop
	s.secondaryStop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// refresh puts the active feed's condition on the board.
func (s *supervisor) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.cfg.Board
	act := s.lanes[s.router.active.Load()]
	b.SetFeed(act.src.Name())
	if act.i == 1 {
		b.Set(slotFailover, status.Failover, fmt.Sprintf("primary feed %s is failing; ticks come from %s",
			s.lanes[0].src.Name(), act.src.Name()))
	} else {
		b.Clear(slotFailover)
	}
	code, detail := act.condition()
	if act.up || code == "" {
		b.Clear(slotFeed)
		return
	}
	b.Set(slotFeed, code, detail)
}

// condition says why a lane that is not up is not, or nothing while its
// first attempt is under way: a service starting is no news for clients,
// and a first attempt that fails says so at once. s.mu must be held.
func (l *lane) condition() (code, detail string) {
	name := l.src.Name()
	var cause string
	if l.lastErr != nil {
		cause = ": " + l.lastErr.Error()
	}
	switch {
	case errors.Is(l.lastErr, polygon.ErrAuth):
		return status.AuthFailed, fmt.Sprintf("%s refuses the key%s", name, cause)
	case l.breaker == gobreaker.StateOpen:
		return status.BreakerOpen, fmt.Sprintf("%s failed %d times in a row; retries are held off%s",
			name, l.s.cfg.TripAfter, cause)
	case errors.Is(l.lastErr, polygon.ErrStalled):
		return status.Stalled, fmt.Sprintf("%s went silent; reconnecting%s", name, cause)
	case l.finished:
		return status.FeedDown, fmt.Sprintf("%s ended", name)
	case l.lastErr != nil:
		return status.FeedDown, fmt.Sprintf("%s is reconnecting%s", name, cause)
	}
	return "", ""
}

// jitter spreads d over [d/2, d) so many clients restarting together do not
// retry in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

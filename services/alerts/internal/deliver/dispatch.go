// Package deliver sends alerts to webhooks, Slack and Discord: one worker
// per destination with its own queue, rate limit and circuit breaker, and
// retries with jittered exponential backoff, so a slow or failing receiver
// delays only its own alerts.
package deliver

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"
)

// Logger is what the dispatcher reports to; zap's SugaredLogger is one.
type Logger interface {
	Infow(msg string, keysAndValues ...any)
	Warnw(msg string, keysAndValues ...any)
}

// Config tunes a Dispatcher. Zero values mean the defaults in brackets.
type Config struct {
	Timeout     time.Duration // of one attempt, connection included [10s]
	MaxAttempts int           // attempts before an alert is given up [8]
	BackoffBase time.Duration // pause after the first failed attempt, doubled after each [500ms]
	BackoffMax  time.Duration // longest pause between attempts [30s]
	// MaxAge gives up an alert not delivered this long after its event was
	// written: a late alert is worth less than a bounded backlog [10m].
	MaxAge time.Duration
	Queue  int // alerts waiting per destination; more are given up [1000]
	// Rates are the requests per second per destination, by type
	// [webhook 10, slack 1, discord 0.5], in bursts of up to Burst [5].
	// TODO: the limits hold per instance, so n instances may send a
	// destination n times its rate; a limiter shared through Redis would
	// hold it for the whole group.
	Rates map[string]rate.Limit
	Burst int
	// BreakerFailures consecutive failed attempts open a destination's
	// circuit [5]; it lets one attempt through after BreakerCooldown [30s].
	BreakerFailures uint32
	BreakerCooldown time.Duration
	// AllowPrivate lets destinations resolve to loopback and private
	// addresses, for tests and closed networks.
	AllowPrivate bool
	// IdleAfter stops the worker of a destination without alerts for this
	// long; its breaker and rate limit start afresh with the next [5m].
	IdleAfter time.Duration
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 10*time.Second)
	def(&c.BackoffBase, 500*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.MaxAge, 10*time.Minute)
	def(&c.BreakerCooldown, 30*time.Second)
	def(&c.IdleAfter, 5*time.Minute)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Queue <= 0 {
		c.Queue = 1000
	}
	if c.Burst <= 0 {
		c.Burst = 5
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	rates := map[string]rate.Limit{Webhook: 10, Slack: 1, Discord: 0.5}
	for t, r := range c.Rates {
		rates[t] = r
	}
	c.Rates = rates
}

// Outcome is how a delivery ended.
type Outcome int

const (
	// Delivered: the receiver answered 2xx.
	Delivered Outcome = iota
	// Failed: given up for Result.Reason; the alert belongs in the
	// dead-letter stream.
	Failed
	// Canceled: the dispatcher closed first. The alert was not given up and
	// may be delivered by whoever takes over its event.
	Canceled
)

// Reasons an alert is given up besides the permanent attempt failures.
const (
	ReasonBacklog   = "backlog"   // the destination's queue was full
	ReasonExpired   = "expired"   // not delivered within MaxAge of its event
	ReasonExhausted = "exhausted" // MaxAttempts attempts failed
)

// Result is the end of one alert's delivery.
type Result struct {
	Outcome  Outcome
	Reason   string // for Failed: ReasonBacklog, ReasonExpired, ReasonExhausted or a permanent attempt reason
	Err      error  // the last attempt's error, if any
	Attempts int
}

// Dispatcher delivers alerts. Its methods are safe for concurrent use.
type Dispatcher struct {
	cfg    Config
	client *http.Client
	m      *Metrics
	log    Logger
	now    func() time.Time

	ctx    context.Context // ends with Close; cancels attempts in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	workers map[string]*worker // by Destination.key; guarded by mu
	closed  bool               // guarded by mu
}

// New returns a Dispatcher; Close stops it.
func New(cfg Config, m *Metrics, log Logger) *Dispatcher {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{
		cfg: cfg, client: newClient(cfg.Timeout, cfg.AllowPrivate), m: m, log: log, now: time.Now,
		ctx: ctx, cancel: cancel, workers: make(map[string]*worker),
	}
}

type job struct {
	a    *Alert
	done func(Result)
}

// Submit queues a for its destination and returns at once. done is called
// exactly once, from a goroutine of the dispatcher, when the delivery ends;
// at once with ReasonBacklog when the destination's queue is full, or with
// Canceled after Close.
func (d *Dispatcher) Submit(a *Alert, done func(Result)) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		done(Result{Outcome: Canceled, Err: context.Canceled})
		return
	}
	key := a.Dest.key()
	w := d.workers[key]
	if w == nil {
		w = d.newWorker(key, a.Dest.Type)
		d.workers[key] = w
		d.m.Destinations.Inc()
		d.wg.Add(1)
		go w.run(d)
	}
	select {
	case w.queue <- job{a: a, done: done}:
		d.mu.Unlock()
	default:
		d.mu.Unlock()
		d.m.Failed.WithLabelValues(a.Dest.Type, ReasonBacklog).Inc()
		done(Result{Outcome: Failed, Reason: ReasonBacklog,
			Err: errors.New("the destination has too many alerts waiting")})
	}
}

// Close cancels attempts in flight, ends every queued alert with Canceled
// and waits for the workers.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// worker delivers the alerts of one destination in order, one at a time.
type worker struct {
	key     string
	typ     string
	queue   chan job
	limiter *rate.Limiter
	breaker *gobreaker.CircuitBreaker[struct{}]
}

func (d *Dispatcher) newWorker(key, typ string) *worker {
	w := &worker{key: key, typ: typ, queue: make(chan job, d.cfg.Queue),
		limiter: rate.NewLimiter(d.cfg.Rates[typ], d.cfg.Burst)}
	w.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        key,
		MaxRequests: 1,
		Timeout:     d.cfg.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= d.cfg.BreakerFailures },
		// A receiver that refuses an alert is up: only failures that say
		// it is unreachable or failing count against it.
		IsSuccessful: func(err error) bool {
			var ae *attemptError
			return err == nil || errors.As(err, &ae) && ae.permanent
		},
		IsExcluded: func(err error) bool {
			var ae *attemptError
			return errors.As(err, &ae) && ae.reason == ReasonCanceled
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			switch {
			case to == gobreaker.StateOpen:
				d.m.OpenCircuits.Inc()
				d.log.Warnw("destination failing; circuit open, holding its alerts", "destination", redact(key),
					"cooldown", d.cfg.BreakerCooldown)
			case from == gobreaker.StateOpen:
				d.m.OpenCircuits.Dec()
			}
			if to == gobreaker.StateClosed {
				d.log.Infow("destination answering again; circuit closed", "destination", redact(key))
			}
		},
	})
	return w
}

func (w *worker) run(d *Dispatcher) {
	defer d.wg.Done()
	defer d.m.Destinations.Dec()
	defer func() {
		if w.breaker.State() == gobreaker.StateOpen {
			d.m.OpenCircuits.Dec()
		}
	}()
	idle := time.NewTimer(d.cfg.IdleAfter)
	defer idle.Stop()
	for {
		select {
		case j := <-w.queue:
			j.done(d.deliver(w, j.a))
			idle.Reset(d.cfg.IdleAfter)
		case <-idle.C:
			// Submit enqueues under d.mu, so an empty queue seen under it
			// stays empty once the worker is gone from the map.
			d.mu.Lock()
			if len(w.queue) == 0 {
				delete(d.workers, w.key)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			idle.Reset(d.cfg.IdleAfter)
		case <-d.ctx.Done():
			// Submit refuses new alerts once closed, so draining ends.
			for {
				select {
				case j := <-w.queue:
					j.done(Result{Outcome: Canceled, Err: d.ctx.Err()})
				default:
					return
				}
			}
		}
	}
}

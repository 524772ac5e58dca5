package deliver

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/sony/gobreaker/v2"
)

// deliver tries a until it is delivered, given up or the dispatcher closes.
// Pauses between attempts grow exponentially with jitter, or follow the
// receiver's Retry-After; an open circuit holds the alert without using up
// its attempts. Nothing waits beyond the alert's MaxAge.
func (d *Dispatcher) deliver(w *worker, a *Alert) Result {
	body, err := a.body()
	if err != nil {
		d.m.Failed.WithLabelValues(w.typ, ReasonEncode).Inc()
		return Result{Outcome: Failed, Reason: ReasonEncode, Err: err}
	}
	ctx, cancel := context.WithDeadline(d.ctx, a.Written.Add(d.cfg.MaxAge))
	defer cancel()

	attempts, held := 0, false
	var last error
	for {
		if err := w.limiter.Wait(ctx); err != nil {
			return d.stopped(w, attempts, last)
		}
		attempts++
		started := d.now()
		_, err := w.breaker.Execute(func() (struct{}, error) {
			return struct{}{}, send(ctx, d.client, a, body, attempts, started)
		})
		if err == nil {
			d.m.Delivered.WithLabelValues(w.typ).Inc()
			d.m.Latency.WithLabelValues(w.typ).Observe(d.now().Sub(a.Written).Seconds())
			return Result{Outcome: Delivered, Attempts: attempts}
		}
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			// Not an attempt: the destination was not called.
			attempts--
			if !held {
				held = true
				d.m.Failed.WithLabelValues(w.typ, ReasonCircuit).Inc()
			}
			if last == nil {
				last = err
			}
			if !sleep(ctx, d.breakerPoll()) {
				return d.stopped(w, attempts, last)
			}
			continue
		}
		last = err
		var ae *attemptError
		if !errors.As(err, &ae) || ctx.Err() != nil {
			return d.stopped(w, attempts, last)
		}
		d.m.Failed.WithLabelValues(w.typ, ae.reason).Inc()
		if ae.permanent {
			return Result{Outcome: Failed, Reason: ae.reason, Err: err, Attempts: attempts}
		}
		if attempts >= d.cfg.MaxAttempts {
			return Result{Outcome: Failed, Reason: ReasonExhausted, Err: err, Attempts: attempts}
		}
		pause := max(d.backoff(attempts), ae.retryAfter)
		if dl, _ := ctx.Deadline(); d.now().Add(pause).After(dl) {
			return Result{Outcome: Failed, Reason: ReasonExpired, Err: err, Attempts: attempts}
		}
		d.m.Retried.WithLabelValues(w.typ).Inc()
		if !sleep(ctx, pause) {
			return d.stopped(w, attempts, last)
		}
	}
}

// stopped is the result of a delivery whose context ended: Canceled when
// the dispatcher closed, else the alert outlived MaxAge.
func (d *Dispatcher) stopped(w *worker, attempts int, last error) Result {
	if d.ctx.Err() != nil {
		return Result{Outcome: Canceled, Err: d.ctx.Err(), Attempts: attempts}
	}
	if last == nil {
		last = errors.New("no attempt made in time")
	}
	d.m.Failed.WithLabelValues(w.typ, ReasonExpired).Inc()
	return Result{Outcome: Failed, Reason: ReasonExpired, Err: last, Attempts: attempts}
}

// backoff is the pause after the n-th failed attempt: BackoffBase doubled
// n-1 times, at most BackoffMax, of which a random half ("equal jitter"),
// so that destinations failing together do not retry in step.
func (d *Dispatcher) backoff(n int) time.Duration {
	p := d.cfg.BackoffMax
	if n < 32 {
		p = min(d.cfg.BackoffBase<<(n-1), d.cfg.BackoffMax)
	}
	return p/2 + rand.N(p/2+1)
}

// breakerPoll is how often an alert held by an open circuit looks again.
func (d *Dispatcher) breakerPoll() time.Duration {
	return min(max(d.cfg.BreakerCooldown/8, 10*time.Millisecond), time.Second)
}

// sleep waits for d or the end of ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package svc

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LogLimiter decides which of many repeated log lines are written: per key
// (a rejection reason, say), a burst and then one per interval. It counts
// the lines it holds back, so the next line written can say how many were
// not. A flood of bad input then costs a few lines a second, yet nothing
// goes unmentioned. It is safe for concurrent use.
type LogLimiter struct {
	every time.Duration
	burst int

	mu   sync.Mutex
	keys map[string]*limited // guarded by mu; at most maxLimitedKeys
}

type limited struct {
	lim  *rate.Limiter
	held int
}

// maxLimitedKeys bounds the keys a LogLimiter remembers, so keys taken from
// input cannot grow it without end; past it, every key starts afresh.
const maxLimitedKeys = 1024

// NewLogLimiter allows, per key, burst lines at once and then one every
// interval.
func NewLogLimiter(every time.Duration, burst int) *LogLimiter {
	return &LogLimiter{every: every, burst: max(1, burst), keys: make(map[string]*limited)}
}

// Allow reports whether a line for key may be written now and, when it
// may, how many lines for key were held back since the last one written.
func (l *LogLimiter) Allow(key string) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= maxLimitedKeys {
			clear(l.keys)
		}
		k = &limited{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.keys[key] = k
	}
	if !k.lim.Allow() {
		k.held++
		return false, 0
	}
	held, k.held = k.held, 0
	return true, held
}

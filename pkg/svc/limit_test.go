package svc

import (
	"testing"
	"time"
)

func TestLogLimiterHoldsBackRepeatsAndCountsThem(t *testing.T) {
	l := NewLogLimiter(50*time.Millisecond, 3)
	written := 0
	for range 10 {
		if ok, _ := l.Allow("decode"); ok {
			written++
		}
	}
	if written != 3 {
		t.Fatalf("wrote %d of 10 lines at once, want the burst of 3", written)
	}
	// Another key has a budget of its own.
	if ok, held := l.Allow("invalid"); !ok || held != 0 {
		t.Errorf("first line of another key: Allow = %v, %d; want true, 0", ok, held)
	}
	time.Sleep(60 * time.Millisecond)
	ok, held := l.Allow("decode")
	if !ok || held != 7 {
		t.Errorf("after the interval: Allow = %v, %d; want true and the 7 held back", ok, held)
	}
}

func TestLogLimiterForgetsKeysBeyondItsBound(t *testing.T) {
	l := NewLogLimiter(time.Hour, 1)
	for i := range maxLimitedKeys + 10 {
		l.Allow(string(rune('a'+i%26)) + string(rune(i)))
	}
	if n := len(l.keys); n > maxLimitedKeys {
		t.Errorf("the limiter remembers %d keys, want at most %d", n, maxLimitedKeys)
	}
}

package tally

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
)

func TestReasons(t *testing.T) {
	r := New()
	if r.First() != "no reason recorded" {
		t.Errorf("First of an empty tally = %q", r.First())
	}
	r.Add("dial: timed out", errors.New("first"))
	r.Add("dial: timed out", errors.New("second"))
	r.Add("closed by edge: 4001 slow consumer", nil)
	r.Lagged(10)
	r.Lagged(5)
	if n := r.Total("dial:"); n != 2 {
		t.Errorf("Total(dial:) = %d", n)
	}
	if n := r.Total(""); n != 3 {
		t.Errorf("Total() = %d", n)
	}
	c := r.Counts()
	if len(c) != 2 || c[0] != (Count{"dial: timed out", 2, "first"}) || c[1].Example != "" {
		t.Errorf("Counts = %+v", c)
	}
	if got := r.First(); got != "dial: timed out: first" {
		t.Errorf("First = %q", got)
	}
	if n, d := r.LaggedTotals(); n != 2 || d != 15 {
		t.Errorf("LaggedTotals = %d, %d", n, d)
	}
}

func TestNames(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("read: %w", io.EOF):             "read: connection lost",
		fmt.Errorf("read: %w", syscall.ECONNRESET): "read: connection reset",
		errors.New("odd"):                          "read: other error",
	} {
		if got := CloseReason(err); got != want {
			t.Errorf("CloseReason(%v) = %q, want %q", err, got, want)
		}
	}
	for err, want := range map[error]string{
		fmt.Errorf("dial: %w", syscall.ECONNREFUSED):       "dial: connection refused",
		fmt.Errorf("dial: %w", context.DeadlineExceeded):   "dial: timed out",
		errors.New("expected status code 101 but got 403"): "dial: upgrade refused",
	} {
		if got := DialReason(err); got != want {
			t.Errorf("DialReason(%v) = %q, want %q", err, got, want)
		}
	}
}

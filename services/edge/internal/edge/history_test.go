package edge

import (
	"context"
	"errors"
	"testing"
)

func TestReadHistoryRetriesUntilARead(t *testing.T) {
	failed := errors.New("i/o timeout")

	calls := 0
	err := readHistory(context.Background(), func(ctx context.Context) error {
		calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("a history read runs without a deadline")
		}
		if calls < historyAttempts {
			return failed
		}
		return nil
	})
	if err != nil || calls != historyAttempts {
		t.Errorf("read succeeding on try %d: got %v after %d calls, want nil", historyAttempts, err, calls)
	}

	calls = 0
	err = readHistory(context.Background(), func(context.Context) error {
		calls++
		return failed
	})
	if !errors.Is(err, failed) || calls != historyAttempts {
		t.Errorf("read that always fails: got %v after %d calls, want %v after %d",
			err, calls, failed, historyAttempts)
	}

	// A connection that ends stops the retries.
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = readHistory(ctx, func(context.Context) error {
		calls++
		cancel()
		return failed
	})
	if !errors.Is(err, failed) || calls != 1 {
		t.Errorf("read on a closed connection: got %v after %d calls, want %v after 1", err, calls, failed)
	}
}

package stack

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// WaitReady polls url until it answers 200, for at most within. It gives up
// early when one of procs exits, since a service that died during start-up
// will never become ready.
func WaitReady(ctx context.Context, url string, within time.Duration, procs ...*Process) error {
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, p := range procs {
			select {
			case <-p.Done():
				return fmt.Errorf("%s exited during start-up (%v); see its log", p.Name, p.Err())
			default:
			}
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer 200 within %s", url, within)
}

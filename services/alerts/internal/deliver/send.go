package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Reasons a delivery attempt failed, as metric labels and dead-letter
// reasons.
const (
	ReasonNetwork  = "network"   // no connection, or it broke
	ReasonTimeout  = "timeout"   // no answer within the delivery timeout
	ReasonStatus5  = "http_5xx"  // the receiver failed
	ReasonThrottle = "http_429"  // the receiver asked to slow down
	ReasonStatus4  = "http_4xx"  // the receiver refused the request: permanent
	ReasonRedirect = "redirect"  // a redirect, which is not followed: permanent
	ReasonBlocked  = "blocked"   // the address is private or local and not allowed: permanent
	ReasonEncode   = "encode"    // the alert could not be rendered: permanent
	ReasonCircuit  = "circuit"   // the destination's circuit breaker is open
	ReasonCanceled = "cancelled" // the instance stopped before an answer
)

// attemptError is a failed attempt.
type attemptError struct {
	reason     string
	permanent  bool          // retrying cannot help
	retryAfter time.Duration // what the receiver asked for, if it did
	err        error
}

func (e *attemptError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// errBlocked is the dial error for an address that may not be dialled.
var errBlocked = errors.New("address is loopback, private, link-local or unspecified")

// newClient returns the HTTP client of deliveries. It follows no redirect
// (a receiver could bounce requests to an internal address) and, unless
// allowPrivate, dials no loopback, private, link-local or unspecified
// address, checked after DNS resolution, so a rule cannot make the service
// call into its own network.
func newClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
				ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() || sharedNAT.Contains(ip) {
				return fmt.Errorf("%s: %w", host, errBlocked)
			}
			return nil
		}
	}
	return &http.Client{
		Transport: &http.Transport{
			// No proxy from the environment: a proxy would dial for us and
			// bypass the address check.
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: timeout,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sharedNAT is 100.64.0.0/10, carrier-grade NAT space, often internal.
var sharedNAT = &net.IPNet{IP: net.IP{100, 64, 0, 0}, Mask: net.CIDRMask(10, 32)}

// send makes one attempt to deliver a: nil when the receiver answered 2xx.
func send(ctx context.Context, client *http.Client, a *Alert, body []byte, attempt int, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Dest.URL, bytes.NewReader(body))
	if err != nil {
		return &attemptError{reason: ReasonEncode, permanent: true, err: err}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "liveflow-alerts/1")
	h.Set(HeaderIdempotencyKey, a.IdempotencyKey())
	h.Set(HeaderRule, a.RuleID)
	h.Set(HeaderEvent, a.EventID)
	h.Set(HeaderAttempt, strconv.Itoa(attempt))
	if a.Dest.Type == Webhook {
		h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(HeaderSignature, Sign(a.Dest.Secret, now, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		return classifyError(ctx, err)
	}
	defer resp.Body.Close()
	// Read a little of the answer for the error message and so that the
	// connection can be reused; receivers answer briefly.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return classifyStatus(resp, snippet, now)
}

func classifyError(ctx context.Context, err error) error {
	var nerr net.Error
	switch {
	case ctx.Err() != nil:
		return &attemptError{reason: ReasonCanceled, err: ctx.Err()}
	case errors.Is(err, errBlocked):
		return &attemptError{reason: ReasonBlocked, permanent: true, err: err}
	case errors.As(err, &nerr) && nerr.Timeout():
		return &attemptError{reason: ReasonTimeout, err: err}
	}
	return &attemptError{reason: ReasonNetwork, err: err}
}

func classifyStatus(resp *http.Response, snippet []byte, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("HTTP %d %s", code, printable(snippet))
	switch {
	case code == http.StatusTooManyRequests:
		return &attemptError{reason: ReasonThrottle, err: err, retryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooEarly:
		return &attemptError{reason: ReasonStatus5, err: err, retryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
	case code >= 300 && code < 400:
		return &attemptError{reason: ReasonRedirect, permanent: true, err: err}
	}
	return &attemptError{reason: ReasonStatus4, permanent: true, err: err}
}

// retryAfter reads a Retry-After header: seconds (Discord sends fractions)
// or an HTTP date. Zero when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 && secs < 86400 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// printable quotes up to 200 bytes of a response body for a log or a
// dead-letter entry.
func printable(b []byte) string {
	s := strings.TrimSpace(string(b))
	return strconv.Quote(clip(s, 200))
}

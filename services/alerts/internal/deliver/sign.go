package deliver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery.
const (
	HeaderIdempotencyKey = "Idempotency-Key"    // "<rule id>:<event id>", the same on every retry
	HeaderRule           = "Liveflow-Rule"      // the rule id
	HeaderEvent          = "Liveflow-Event"     // the event id
	HeaderAttempt        = "Liveflow-Attempt"   // 1 for the first try
	HeaderTimestamp      = "Liveflow-Timestamp" // webhooks: Unix seconds of the signature
	HeaderSignature      = "Liveflow-Signature" // webhooks: "v1=" and the hex HMAC-SHA256
)

// Sign returns the signature header of a webhook body sent at ts: "v1=" and
// the hex HMAC-SHA256, keyed by secret, of the decimal Unix seconds of ts, a
// dot, and the body. Binding the timestamp lets receivers refuse replays.
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrSignature is the error of Verify for a signature that does not match.
var ErrSignature = errors.New("deliver: signature does not match")

// Verify checks a webhook request as a receiver would: the timestamp header
// must be within tolerance of now, and the signature header must hold a v1
// signature of the body with secret. It compares in constant time.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("deliver: timestamp %q is not Unix seconds", timestamp)
	}
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("deliver: timestamp %s is %s away from now, beyond %s", ts.UTC().Format(time.RFC3339), d, tolerance)
	}
	want := Sign(secret, ts, body)
	// Several signatures may be listed, comma-separated, while a secret is
	// being rotated; one matching is enough.
	for _, sig := range strings.Split(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(sig)), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}

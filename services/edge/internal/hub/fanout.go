package hub

import "fmt"

// Fanout is how shard readers learn of new stream entries.
type Fanout int

const (
	// FanoutXRead reads each shard stream with XREAD BLOCK (the default).
	FanoutXRead Fanout = iota
	// FanoutPubSub takes the entries from the notifications that scorers
	// with stream.WriterConfig.Notify publish on each shard's channel, and
	// reads the stream only to start and to catch up. Without notifying
	// scorers it falls back to reading the stream once per quiet blockFor.
	FanoutPubSub
)

// ParseFanout reads "xread" or "pubsub".
func ParseFanout(s string) (Fanout, error) {
	switch s {
	case "xread":
		return FanoutXRead, nil
	case "pubsub":
		return FanoutPubSub, nil
	}
	return 0, fmt.Errorf("hub: fan-out %q: want xread or pubsub", s)
}

// String returns the name ParseFanout reads.
func (f Fanout) String() string {
	if f == FanoutPubSub {
		return "pubsub"
	}
	return "xread"
}

// MarshalText returns the name ParseFanout reads, for flag.TextVar.
func (f Fanout) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText sets f from its name, as ParseFanout reads it.
func (f *Fanout) UnmarshalText(b []byte) error {
	v, err := ParseFanout(string(b))
	if err == nil {
		*f = v
	}
	return err
}

// Option configures a Hub.
type Option func(*Hub)

// WithFanout sets how the readers follow the shard streams.
func WithFanout(f Fanout) Option {
	return func(h *Hub) { h.fanout = f }
}

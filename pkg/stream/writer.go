package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// appendScript adds the events of one tick to a shard stream unless that tick
// was applied before, atomically, so replaying ticks after a crash or a
// rebalance never duplicates an entry.
//
// KEYS[1] stream, KEYS[2] applied hash.
// ARGV[1] source (topic/partition), ARGV[2] offset, ARGV[3] max length,
// ARGV[4] TTL in seconds, then one (underlying, event) pair per event.
// Returns the number of entries added: 0 for a tick seen before.
var appendScript = redis.NewScript(`
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
if tonumber(ARGV[2]) <= last then
	return 0
end
for i = 5, #ARGV, 2 do
	redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'u', ARGV[i], 'e', ARGV[i + 1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return (#ARGV - 4) / 2
`)

// WriterConfig sets how streams are bounded. The zero value means defaults.
type WriterConfig struct {
	Shards int           // number of shard streams; 0 means DefaultShards
	MaxLen int64         // approximate entries kept per stream; 0 means 100,000
	TTL    time.Duration // a stream idle this long expires; 0 means 24 hours
}

// Batch collects the events of many ticks for one Write.
type Batch struct {
	groups []group
}

// group is the events of one tick.
type group struct {
	shard   int
	source  string
	offset  int64
	entries []any // underlying, event, underlying, event, ...
}

// Add queues events of the tick at offset in a partition of topic, which
// names the topic in the applied-offset record (its ID, or its name). All
// events of one tick must be added in one call, and they must share an
// underlying (they always do: a tick belongs to one underlying).
func (b *Batch) Add(shard int, topic string, partition int32, offset int64, underlying string,
	events ...[]byte) {
	if len(events) == 0 {
		return
	}
	g := group{
		shard:   shard,
		source:  topic + "/" + strconv.Itoa(int(partition)),
		offset:  offset,
		entries: make([]any, 0, 2*len(events)),
	}
	for _, e := range events {
		g.entries = append(g.entries, underlying, e)
	}
	b.groups = append(b.groups, g)
}

// Len returns the number of events queued.
func (b *Batch) Len() int {
	n := 0
	for _, g := range b.groups {
		n += len(g.entries) / 2
	}
	return n
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.groups = b.groups[:0] }

// Writer appends scored events to shard streams. It is safe for concurrent use.
type Writer struct {
	rdb    redis.UniversalClient
	cfg    WriterConfig
	ttlArg string
}

// NewWriter returns a Writer. It checks the config but does not contact Redis.
func NewWriter(rdb redis.UniversalClient, cfg WriterConfig) (*Writer, error) {
	if cfg.Shards == 0 {
		cfg.Shards = DefaultShards
	}
	if cfg.MaxLen == 0 {
		cfg.MaxLen = 100_000
	}
	if cfg.TTL == 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Shards < 0 || cfg.MaxLen < 0 || cfg.TTL < time.Second {
		return nil, fmt.Errorf("stream: shards %d and max length %d must be positive and TTL %s at least 1s",
			cfg.Shards, cfg.MaxLen, cfg.TTL)
	}
	return &Writer{rdb: rdb, cfg: cfg, ttlArg: strconv.Itoa(int(cfg.TTL / time.Second))}, nil
}

// Shards returns the configured shard count.
func (w *Writer) Shards() int { return w.cfg.Shards }

// Write appends a batch in one pipeline and returns the number of entries
// added, which is less than b.Len() when some ticks had been applied before.
// On error some ticks may have been applied and others not; writing the same
// batch again is safe and completes it.
func (w *Writer) Write(ctx context.Context, b *Batch) (int, error) {
	if len(b.groups) == 0 {
		return 0, nil
	}
	added, err := w.write(ctx, b)
	if err != nil && isNoScript(err) {
		// Redis lost its script cache (a restart or SCRIPT FLUSH): load it
		// again and retry once; the script makes the retry harmless.
		if lerr := appendScript.Load(ctx, w.rdb).Err(); lerr != nil {
			return 0, fmt.Errorf("stream: load script: %w", lerr)
		}
		added, err = w.write(ctx, b)
	}
	return added, err
}

func (w *Writer) write(ctx context.Context, b *Batch) (int, error) {
	pipe := w.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(b.groups))
	maxLen := strconv.FormatInt(w.cfg.MaxLen, 10)
	for i, g := range b.groups {
		args := make([]any, 0, 4+len(g.entries))
		args = append(args, g.source, g.offset, maxLen, w.ttlArg)
		args = append(args, g.entries...)
		cmds[i] = appendScript.EvalSha(ctx, pipe, []string{Key(g.shard), appliedKey(g.shard)}, args...)
	}
	_, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("stream: write %d ticks: %w", len(b.groups), err)
	}

	added := 0
	for _, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return 0, fmt.Errorf("stream: append: %w", err)
		}
		added += n
	}
	return added, nil
}

func isNoScript(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOSCRIPT")
}

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

// appendScript adds the events of one or more ticks to a shard stream,
// skipping every tick applied before, atomically, so replaying ticks after a
// crash or a rebalance never duplicates an entry.
//
// KEYS[1] stream, KEYS[2] applied hash, KEYS[3] notification channel.
// ARGV[1] max length, ARGV[2] TTL in seconds, ARGV[3] "1" to publish a
// notification, then per tick: source (topic/partition), offset, the number
// of events n, and n (underlying, event) pairs.
// Returns the number of entries added: 0 when every tick was seen before.
//
// With notifications on, it publishes one message on KEYS[3] carrying what it
// added (see ParseNotification for the framing), and nothing when it added
// nothing. The id of the entry before the new ones is read before the first
// XADD: trimming never removes the newest entry, so it is the true
// predecessor, which lets a subscriber notice a message it did not get.
var appendScript = redis.NewScript(`
local function put(t, s)
	local n = #s
	while n >= 128 do
		t[#t + 1] = string.char(n % 128 + 128)
		n = math.floor(n / 128)
	end
	t[#t + 1] = string.char(n)
	t[#t + 1] = s
end

local notify = ARGV[3] == '1'
local added, msg = 0, nil
local i = 4
while i <= #ARGV do
	local source, offset, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
	local first = i + 3
	i = first + 2 * n
	local last = tonumber(redis.call('HGET', KEYS[2], source) or '-1')
	if tonumber(offset) > last then
		if notify and not msg then
			local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
			msg = {'\1'}
			put(msg, top[1] and top[1][1] or '0-0')
		end
		for j = first, i - 1, 2 do
			local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'u', ARGV[j], 'e', ARGV[j + 1])
			if notify then
				put(msg, id)
				put(msg, ARGV[j])
				put(msg, ARGV[j + 1])
			end
		end
		redis.call('HSET', KEYS[2], source, offset)
		added = added + n
	end
end
if added > 0 then
	redis.call('EXPIRE', KEYS[1], ARGV[2])
	redis.call('EXPIRE', KEYS[2], ARGV[2])
	if notify then
		redis.call('SPUBLISH', KEYS[3], table.concat(msg))
	end
end
return added
`)

// WriterConfig sets how streams are bounded and whether appends are
// announced. The zero value means defaults.
type WriterConfig struct {
	Shards int           // number of shard streams; 0 means DefaultShards
	MaxLen int64         // approximate entries kept per stream; 0 means 100,000
	TTL    time.Duration // a stream idle this long expires; 0 means 24 hours

	// Notify publishes, after each append to a shard, one message with the
	// new entries on the shard's channel (Channel), for edges that follow the
	// streams by Pub/Sub. The message is sent by the same script that
	// appends, so it is never published for entries that were not added.
	Notify bool
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

// Add queues events of one underlying from the tick at offset in a
// partition of topic, which names the topic in the applied-offset record
// (its ID, or its name). It is AddEntries for events that share an
// underlying.
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

// Routed is one event and the underlying it is routed by.
type Routed struct {
	Underlying string
	Event      []byte
}

// AddEntries queues the events of the tick at offset in a partition of
// topic that belong in one shard. A tick's events need not share its
// underlying: its time may close a window of another underlying of the
// partition. Each event goes to the shard of its own underlying, and all of
// one tick's events for one shard must be added in one call: a second call
// for the same tick and shard would be skipped as applied.
func (b *Batch) AddEntries(shard int, topic string, partition int32, offset int64, entries ...Routed) {
	if len(entries) == 0 {
		return
	}
	g := group{
		shard:   shard,
		source:  topic + "/" + strconv.Itoa(int(partition)),
		offset:  offset,
		entries: make([]any, 0, 2*len(entries)),
	}
	for _, e := range entries {
		g.entries = append(g.entries, e.Underlying, e.Event)
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
	rdb redis.UniversalClient
	cfg WriterConfig

	// The script's fixed arguments, formatted once.
	maxLenArg, ttlArg, notifyArg string
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
	w := &Writer{
		rdb: rdb, cfg: cfg, notifyArg: "0",
		maxLenArg: strconv.FormatInt(cfg.MaxLen, 10), ttlArg: strconv.Itoa(int(cfg.TTL / time.Second)),
	}
	if cfg.Notify {
		w.notifyArg = "1"
	}
	return w, nil
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

// write runs the script once per shard the batch touches, with that shard's
// ticks in the order they were added, all in one pipeline: a notification
// then carries everything one Write added to a shard.
func (w *Writer) write(ctx context.Context, b *Batch) (int, error) {
	perShard := make(map[int][]any)
	var order []int
	for _, g := range b.groups {
		args, ok := perShard[g.shard]
		if !ok {
			args = append(make([]any, 0, 8+len(g.entries)), w.maxLenArg, w.ttlArg, w.notifyArg)
			order = append(order, g.shard)
		}
		args = append(args, g.source, g.offset, len(g.entries)/2)
		perShard[g.shard] = append(args, g.entries...)
	}

	pipe := w.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(order))
	for i, shard := range order {
		keys := []string{Key(shard), appliedKey(shard), Channel(shard)}
		cmds[i] = appendScript.EvalSha(ctx, pipe, keys, perShard[shard]...)
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

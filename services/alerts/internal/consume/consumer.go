// Package consume reads the shard streams as one Redis consumer group shared
// by every alerts instance, matches each event against the alert rules and
// hands the alerts to the dispatcher.
//
// An entry is acknowledged (XACK) only when every alert it made was
// delivered or written to the dead-letter stream. While an instance works on
// an entry it keeps the entry's idle time low; when an instance dies, its
// entries go idle and another instance takes them over (XAUTOCLAIM) after
// ClaimIdle and delivers them again. Alerts are therefore delivered at least
// once; each carries an idempotency key (rule id and event id) by which a
// receiver drops the repeats, and an entry matched by several rules records
// the rules already served, so a takeover repeats at most the alerts that
// were on the wire when the instance died.
package consume

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
	"github.com/liveflow/liveflow/services/alerts/internal/rules"
)

// Logger is what the consumer reports to; zap's SugaredLogger is one.
type Logger interface {
	Infow(msg string, keysAndValues ...any)
	Warnw(msg string, keysAndValues ...any)
}

// RuleSource gives the rules to match against; rules.Live is one.
type RuleSource interface {
	Current() *rules.Set
}

// Config tunes a Consumer. Zero values mean the defaults in brackets.
type Config struct {
	Shards int    // shard streams flow:{0} .. flow:{Shards-1} [16]
	Group  string // the consumer group every instance joins [liveflow-alerts]
	Name   string // this instance's consumer name, unique among live instances; required
	Batch  int    // entries per read [100]
	// Block is how long a read waits for new entries [2s].
	Block time.Duration
	// ClaimIdle: an entry pending this long without its consumer touching
	// it is taken over. Live instances touch theirs every ClaimIdle/3 [30s].
	ClaimIdle time.Duration
	// MaxDeliveries: an entry handed out this often without being
	// acknowledged is poison (it may crash instances) and is dead-lettered
	// instead of handled again [5].
	MaxDeliveries int64
	MaxInFlight   int // entries with alerts being delivered; reads pause beyond [10000]
	// ForgetAfter removes from the group consumers that hold no pending
	// entry and were silent this long: instances gone for good [1h].
	ForgetAfter time.Duration
	// DeadLetter is the stream of entries and alerts given up [alerts:dead],
	// trimmed to about DeadLetterMaxLen entries [100000].
	DeadLetter       string
	DeadLetterMaxLen int64
	// ShutdownGrace is how long Run lets deliveries in flight finish after
	// its context ends; what is left stays pending for another instance.
	// Zero stops at once, as a crash would.
	ShutdownGrace time.Duration
}

func (c *Config) setDefaults() {
	if c.Shards <= 0 {
		c.Shards = 16
	}
	if c.Group == "" {
		c.Group = "liveflow-alerts"
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Block <= 0 {
		c.Block = 2 * time.Second
	}
	if c.ClaimIdle <= 0 {
		c.ClaimIdle = 30 * time.Second
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = 5
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 10000
	}
	c.MaxInFlight = max(c.MaxInFlight, c.Batch)
	if c.ForgetAfter <= 0 {
		c.ForgetAfter = time.Hour
	}
	if c.DeadLetter == "" {
		c.DeadLetter = "alerts:dead"
	}
	if c.DeadLetterMaxLen <= 0 {
		c.DeadLetterMaxLen = 100_000
	}
}

// Consumer is one alerts instance's member of the consumer group.
type Consumer struct {
	rdb   redis.UniversalClient
	cfg   Config
	rules RuleSource
	disp  *deliver.Dispatcher
	m     *Metrics
	log   Logger

	// tokens holds one token per entry that may still go in flight.
	tokens chan struct{}
	// acks carries completed entries to the acknowledging goroutine; it
	// holds MaxInFlight, so sending never blocks.
	acks chan *pending

	mu       sync.Mutex
	inflight map[entryKey]*pending // guarded by mu
	warned   map[string]bool       // operations whose failure was logged; guarded by mu
}

type entryKey struct {
	shard int
	id    string
}

// pending is an entry whose alerts are being delivered.
type pending struct {
	key       entryKey
	e         *entry
	remaining atomic.Int32 // alerts not yet finished
	marks     bool         // record each rule served, for a takeover
	abandoned atomic.Bool  // an alert was neither delivered nor dead-lettered: leave the entry pending
	lost      atomic.Bool  // another consumer took the entry over
	acking    atomic.Bool  // handed to the acknowledging goroutine
}

// New returns a Consumer. Run takes over disp and closes it.
func New(rdb redis.UniversalClient, cfg Config, rs RuleSource, disp *deliver.Dispatcher, m *Metrics, log Logger) (*Consumer, error) {
	cfg.setDefaults()
	if cfg.Name == "" {
		return nil, fmt.Errorf("consume: the consumer needs a name")
	}
	c := &Consumer{
		rdb: rdb, cfg: cfg, rules: rs, disp: disp, m: m, log: log,
		tokens:   make(chan struct{}, cfg.MaxInFlight),
		acks:     make(chan *pending, cfg.MaxInFlight),
		inflight: make(map[entryKey]*pending),
		warned:   make(map[string]bool),
	}
	for range cfg.MaxInFlight {
		c.tokens <- struct{}{}
	}
	return c, nil
}

// Run consumes until ctx ends, then stops reading, lets deliveries in flight
// finish for up to ShutdownGrace, cancels the rest (their entries stay
// pending for another instance), acknowledges what finished, closes the
// dispatcher and returns. It returns an error only for a configuration Redis
// refuses.
func (c *Consumer) Run(ctx context.Context) error {
	// Acknowledgements, touches and dead letters outlive ctx until the end
	// of the shutdown.
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()

	var readers, helpers sync.WaitGroup
	for shard := range c.cfg.Shards {
		readers.Add(1)
		go func() {
			defer readers.Done()
			c.readShard(ctx, bg, shard)
		}()
	}
	readers.Add(1)
	go func() {
		defer readers.Done()
		c.claimLoop(ctx, bg)
	}()
	helpers.Add(1)
	go func() {
		defer helpers.Done()
		c.touchLoop(bg)
	}()
	ackerDone := make(chan struct{})
	go func() {
		defer close(ackerDone)
		c.ackLoop(bg)
	}()

	<-ctx.Done()
	readers.Wait()
	c.drain(c.cfg.ShutdownGrace)
	c.disp.Close()
	// Every entry has finished or been abandoned now; the acknowledging
	// goroutine sends what is queued and stops.
	close(c.acks)
	<-ackerDone
	stopBG()
	helpers.Wait()
	return nil
}

// drain waits until no entry is in flight, or grace has passed.
func (c *Consumer) drain(grace time.Duration) {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && c.inFlight() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *Consumer) inFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)
}

// reserve waits for one token, then takes as many more as are free, up to
// n, and returns how many it holds: 0 when ctx ended first. Never waiting
// while holding tokens means readers cannot starve each other into a
// deadlock when MaxInFlight is small.
func (c *Consumer) reserve(ctx context.Context, n int) int {
	select {
	case <-c.tokens:
	case <-ctx.Done():
		return 0
	}
	got := 1
	for got < n {
		select {
		case <-c.tokens:
			got++
		default:
			return got
		}
	}
	return got
}

func (c *Consumer) release(n int) {
	for range n {
		c.tokens <- struct{}{}
	}
}

// track registers p as in flight; the caller holds its token.
func (c *Consumer) track(p *pending) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.inflight[p.key]; dup {
		return false
	}
	c.inflight[p.key] = p
	c.m.InFlight.Set(float64(len(c.inflight)))
	return true
}

// untrack forgets p and frees its token.
func (c *Consumer) untrack(p *pending) {
	c.mu.Lock()
	delete(c.inflight, p.key)
	c.m.InFlight.Set(float64(len(c.inflight)))
	c.mu.Unlock()
	c.release(1)
}

func (c *Consumer) isTracked(k entryKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.inflight[k]
	return ok
}

// redisFailed counts a failed Redis call and logs the first of a run of
// failures of op; redisOK ends the run.
func (c *Consumer) redisFailed(op string, err error, kv ...any) {
	c.m.RedisErrors.WithLabelValues(op).Inc()
	c.mu.Lock()
	first := !c.warned[op]
	c.warned[op] = true
	c.mu.Unlock()
	if first {
		c.log.Warnw("redis call failed; retrying (is Redis reachable?)", append([]any{"op", op, "error", err}, kv...)...)
	}
}

func (c *Consumer) redisOK(op string) {
	c.mu.Lock()
	was := c.warned[op]
	delete(c.warned, op)
	c.mu.Unlock()
	if was {
		c.log.Infow("redis call succeeds again", "op", op)
	}
}

// doneKey names the set of rules already served for an entry matched by
// several rules.
func (c *Consumer) doneKey(k entryKey) string {
	return "alerts:done:" + c.cfg.Group + ":" + strconv.Itoa(k.shard) + ":" + k.id
}

// doneTTL bounds how long the record of served rules outlives a crash.
const doneTTL = 24 * time.Hour

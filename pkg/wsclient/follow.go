package wsclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FollowConfig says what a Follower follows and where.
type FollowConfig struct {
	// URLs are edges' /ws URLs. Each connection attempt takes the next one
	// in turn, so a client whose edge went away resumes on another.
	URLs  []string
	Token string // a credential for DialToken; "" sends none

	ID     string         // the subscription id; "" means "follow"
	Filter map[string]any // the subscription's filter; "symbols" is required

	// OnEvents receives every event once, in the order of its shard, from
	// one goroutine. It must not keep the slice.
	OnEvents func([]Event)
	// OnNotice receives what the client may want to know besides events:
	// connections, resumes, gaps, lagged notices and feed status. Optional.
	OnNotice func(Notice)

	// MinDelay and MaxDelay bound the jittered wait before a reconnect,
	// which doubles with each failed attempt; 0 means 100 ms and 5 s.
	MinDelay, MaxDelay time.Duration
}

// Event is one event as the edge sent it, with its id taken apart.
type Event struct {
	ID    string // "<shard>-<entry id>"
	Shard int
	Raw   json.RawMessage // the event's JSON, id included
}

// Notice is something that happened to a Follower's subscription.
type Notice struct {
	Kind    string // one of the Notice constants
	URL     string // the edge it happened on
	Message string // the server's words, or the error
}

// The kinds of Notice.
const (
	NoticeSubscribed = "subscribed" // subscribed, fresh or resumed completely
	NoticeGap        = "gap"        // resumed, but the edge could not give every missed event
	NoticeLagged     = "lagged"     // the edge dropped events the client was too slow for
	NoticeStatus     = "status"     // the feed's status changed (Message: "ok" or "degraded")
	NoticeLost       = "lost"       // the connection ended or could not be made (Message: why)
)

// ErrRefused is wrapped by Run's error when an edge refused the
// subscription itself (a bad filter, a forbidden underlying): retrying
// cannot help.
var ErrRefused = errors.New("wsclient: subscription refused")

// Follower keeps one subscription alive across disconnects and edges. It
// knows its position in every shard the subscription reads: from the
// subscribed reply's positions at first, then the id of each event. On
// reconnecting it resumes from all of them, so it misses nothing the edges
// can still give, and it drops any event whose id is at or before its
// shard's position, so it delivers nothing twice. A lagged notice is
// answered by resuming at once.
type Follower struct {
	cfg FollowConfig

	mu        sync.Mutex
	positions map[int]entryID // guarded by mu; written by Run's goroutine
	stats     FollowStats     // guarded by mu
}

// FollowStats count what a Follower went through.
type FollowStats struct {
	Connections int // subscriptions made, the first included
	Resumes     int // of which resumed a previous one
	Gaps        int // resumes the edge could not complete
	Lagged      int // lagged notices
	Repeats     int // events dropped because their id was passed already
	Events      int // events delivered
}

// NewFollower checks the configuration and returns a Follower; Run starts
// it.
func NewFollower(cfg FollowConfig) (*Follower, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("wsclient: follow: no URL")
	}
	if _, ok := cfg.Filter["symbols"]; !ok {
		return nil, errors.New("wsclient: follow: the filter names no symbols")
	}
	if cfg.OnEvents == nil {
		return nil, errors.New("wsclient: follow: no OnEvents")
	}
	if cfg.ID == "" {
		cfg.ID = "follow"
	}
	if cfg.MinDelay <= 0 {
		cfg.MinDelay = 100 * time.Millisecond
	}
	if cfg.MaxDelay < cfg.MinDelay {
		cfg.MaxDelay = max(cfg.MinDelay, 5*time.Second)
	}
	return &Follower{cfg: cfg, positions: map[int]entryID{}}, nil
}

// Stats returns the counters so far. It may be called concurrently with Run.
func (f *Follower) Stats() FollowStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Positions returns the event id of the follower's position in each shard,
// as resume_from takes them. It may be called concurrently with Run.
func (f *Follower) Positions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resumeFromLocked()
}

// Run follows until ctx ends (it then returns nil) or an edge refuses the
// subscription (an error wrapping ErrRefused).
func (f *Follower) Run(ctx context.Context) error {
	delay := f.cfg.MinDelay
	for attempt := 0; ; attempt++ {
		url := f.cfg.URLs[attempt%len(f.cfg.URLs)]
		subscribed, err := f.session(ctx, url)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRefused) {
			return err
		}
		f.notice(Notice{Kind: NoticeLost, URL: url, Message: err.Error()})
		if subscribed {
			delay = f.cfg.MinDelay
		}
		if errors.Is(err, errLagged) {
			continue // resume at once: the events are still in the streams
		}
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, f.cfg.MaxDelay)
	}
}

// errLagged ends a session whose edge dropped events, so Run resumes.
var errLagged = errors.New("wsclient: the edge dropped events; resuming")

// session connects to url, subscribes (resuming when it has positions) and
// reads until the connection ends. It reports whether it got as far as the
// subscribed reply.
func (f *Follower) session(ctx context.Context, url string) (bool, error) {
	c, err := DialToken(ctx, url, f.cfg.Token)
	if err != nil {
		return false, err
	}
	defer c.conn.CloseNow()

	req := map[string]any{"op": "subscribe", "id": f.cfg.ID, "filter": f.cfg.Filter}
	f.mu.Lock()
	resume := f.resumeFromLocked()
	f.mu.Unlock()
	if len(resume) > 0 {
		req["resume_from"] = resume
	}
	if err := c.Send(ctx, req); err != nil {
		return false, err
	}
	subscribed := false
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return subscribed, err
		}
		switch m.Op {
		case "subscribed":
			if m.ID != f.cfg.ID {
				continue
			}
			subscribed = true
			if err := f.subscribed(url, m, len(resume) > 0); err != nil {
				return true, err
			}
		case "error":
			if m.ID == f.cfg.ID && m.Code != "unavailable" {
				return subscribed, fmt.Errorf("%w: %s: %s", ErrRefused, m.Code, m.Message)
			}
			return subscribed, fmt.Errorf("wsclient: %s: %s", m.Code, m.Message)
		case "events":
			if err := f.deliver(m.Events); err != nil {
				return subscribed, err
			}
		case "lagged":
			f.count(func(s *FollowStats) { s.Lagged++ })
			f.notice(Notice{Kind: NoticeLagged, URL: url, Message: m.Message})
			return subscribed, errLagged
		case "status":
			f.notice(Notice{Kind: NoticeStatus, URL: url, Message: m.Feed})
		}
	}
}

// subscribed takes in the subscribed reply: what it carries of the past,
// then its positions.
func (f *Follower) subscribed(url string, m Message, resumed bool) error {
	f.count(func(s *FollowStats) {
		s.Connections++
		if resumed {
			s.Resumes++
		}
		if m.Resume == "gap" {
			s.Gaps++
		}
	})
	if err := f.deliver(m.Missed); err != nil {
		return err
	}
	if m.Resume == "gap" {
		f.notice(Notice{Kind: NoticeGap, URL: url, Message: m.Message})
		if err := f.deliver(m.Snapshot); err != nil {
			return err
		}
	} else {
		f.notice(Notice{Kind: NoticeSubscribed, URL: url})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range m.Positions {
		shard, id, err := parseEventID(p)
		if err != nil {
			return fmt.Errorf("wsclient: position %q: %w", p, err)
		}
		if cur, ok := f.positions[shard]; !ok || id.after(cur) {
			f.positions[shard] = id
		}
	}
	return nil
}

// deliver hands on the events not passed yet and moves the positions.
func (f *Follower) deliver(raw []json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	out := make([]Event, 0, len(raw))
	f.mu.Lock()
	for _, r := range raw {
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r, &head); err != nil {
			f.mu.Unlock()
			return fmt.Errorf("wsclient: event without an id: %w", err)
		}
		shard, id, err := parseEventID(head.ID)
		if err != nil {
			f.mu.Unlock()
			return fmt.Errorf("wsclient: event id %q: %w", head.ID, err)
		}
		if cur, ok := f.positions[shard]; ok && !id.after(cur) {
			f.stats.Repeats++
			continue
		}
		f.positions[shard] = id
		out = append(out, Event{ID: head.ID, Shard: shard, Raw: r})
	}
	f.stats.Events += len(out)
	f.mu.Unlock()
	if len(out) > 0 {
		f.cfg.OnEvents(out)
	}
	return nil
}

func (f *Follower) count(change func(*FollowStats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.stats)
}

func (f *Follower) notice(n Notice) {
	if f.cfg.OnNotice != nil {
		f.cfg.OnNotice(n)
	}
}

// resumeFromLocked returns the positions as event ids. f.mu must be held.
func (f *Follower) resumeFromLocked() []string {
	out := make([]string, 0, len(f.positions))
	for shard, id := range f.positions {
		out = append(out, strconv.Itoa(shard)+"-"+id.String())
	}
	return out
}

// entryID is a Redis stream entry id, ordered by time then sequence.
type entryID struct{ ms, seq uint64 }

func (e entryID) after(o entryID) bool {
	return e.ms > o.ms || (e.ms == o.ms && e.seq > o.seq)
}

func (e entryID) String() string {
	return strconv.FormatUint(e.ms, 10) + "-" + strconv.FormatUint(e.seq, 10)
}

// parseEventID splits an event id "<shard>-<ms>-<seq>".
func parseEventID(s string) (int, entryID, error) {
	shardText, rest, ok := strings.Cut(s, "-")
	msText, seqText, ok2 := strings.Cut(rest, "-")
	shard, err1 := strconv.Atoi(shardText)
	ms, err2 := strconv.ParseUint(msText, 10, 64)
	seq, err3 := strconv.ParseUint(seqText, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || err3 != nil || shard < 0 {
		return 0, entryID{}, errors.New("not <shard>-<ms>-<seq>")
	}
	return shard, entryID{ms, seq}, nil
}

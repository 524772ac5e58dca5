package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/stream"
)

// startClients creates the clients: two follow every underlying, the others
// halves, a few or one, and they start on alternate edges.
func startClients(ctx context.Context, e *env, cfg config, unders []string, rng *rand.Rand) ([]*client, error) {
	half := len(unders) / 2
	sets := [][]string{unders, unders, unders[:half], unders[half:]}
	for len(sets) < cfg.clients {
		n := 1 + rng.IntN(min(5, len(unders)))
		set := make([]string, 0, n)
		for _, i := range rng.Perm(len(unders))[:n] {
			set = append(set, unders[i])
		}
		sets = append(sets, set)
	}
	var out []*client
	for i, set := range sets[:cfg.clients] {
		c, err := newClient("c"+strconv.Itoa(i), e.edgeURLs(i%len(e.edgeAddrs)), set)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, ctx.Err()
}

func runClients(ctx context.Context, clients []*client) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, c := range clients {
		c.run(ctx, &wg)
	}
	return &wg
}

// settle waits until ingest has been through its tape and the scorers have
// committed every record of the ticks topic.
func settle(ctx context.Context, e *env, tp *tapeFile) (bool, error) {
	lines := float64(tp.ticks + tp.badLines)
	var accepted, rejected, produced, failed float64
	err := waitFor(ctx, 3*time.Minute, "ingest through its tape", func() bool {
		e.mu.Lock()
		ops := e.ingestOps
		e.mu.Unlock()
		m, err := scrape("http://" + ops + "/metrics")
		if err != nil {
			return false
		}
		accepted, rejected = m.sum("liveflow_ingest_ticks_total"), m.sum("liveflow_ingest_rejected_total")
		produced, failed = m.sum("liveflow_ingest_produced_total"), m.sum("liveflow_ingest_produce_errors_total")
		return accepted+rejected == lines && produced+failed == accepted
	})
	if err != nil {
		return false, fmt.Errorf("%w (accepted %v, rejected %v of %v lines; produced %v, failed %v)",
			err, accepted, rejected, lines, produced, failed)
	}
	ok := rejected == float64(tp.badLines) && failed == 0
	say("ingest (its last run) read %v lines: %v ticks produced, %v refused (want %d), %v not produced",
		lines, produced, rejected, tp.badLines, failed)

	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(e.brokers, ",")...))
	if err != nil {
		return false, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var behind int64
	err = waitFor(ctx, 3*time.Minute, "every tick committed by the scorers", func() bool {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ends, err1 := adm.ListEndOffsets(cctx, e.st.Topic)
		committed, err2 := adm.FetchOffsets(cctx, e.group)
		if err1 != nil || err2 != nil {
			return false
		}
		behind = 0
		ends.Each(func(o kadm.ListedOffset) {
			c, _ := committed.Lookup(e.st.Topic, o.Partition)
			behind += o.Offset - max(0, c.At)
		})
		return behind == 0
	})
	if err != nil {
		return false, fmt.Errorf("%w (%d ticks not committed)", err, behind)
	}
	return ok, nil
}

// check compares what every client received with what the ticks in Kafka
// must produce, the shard streams with the same, and the dead-letter topic
// with the records that must be refused.
func check(ctx context.Context, e *env, tp *tapeFile, clients []*client, poison poisoned,
	done []injected) (bool, error) {
	brokers := strings.Split(e.brokers, ",")
	x, err := expect(ctx, brokers, e.st.Topic)
	if err != nil {
		return false, err
	}
	say("Kafka holds %d ticks records (%d more than the tape's %d: ingest's replay after its restart, "+
		"and the poison); scored again they give %d events, and %d records must be refused",
		x.ticks, x.ticks-tp.ticks, tp.ticks, len(x.events), len(x.bad))

	_ = waitFor(ctx, time.Minute, "every client has its events", func() bool {
		for _, c := range clients {
			if keys := x.keysFor(c.symbols); c.has(keys) < len(keys) {
				return false
			}
		}
		return true
	})
	// Anything sent twice would arrive about now.
	_ = sleep(ctx, 2*time.Second)

	ok := true
	for _, c := range clients {
		ok = checkClient(c, x) && ok
	}
	ok = checkStreams(ctx, e, x) && ok
	ok = checkDeadLetters(ctx, e, x, poison) && ok
	for _, f := range done {
		say("fault at t+%s: %s; back after %s", f.at.Round(100*time.Millisecond), f.what,
			f.down.Round(100*time.Millisecond))
	}
	return ok, nil
}

// checkClient reports what one client lost, got twice, got that it should
// not have, and got different from the reference.
func checkClient(c *client, x *expected) bool {
	keys := x.keysFor(c.symbols)
	c.mu.Lock()
	defer c.mu.Unlock()
	var lost, twice, extra, differ []string
	for _, k := range keys {
		got := c.received[k]
		switch {
		case len(got) == 0:
			lost = append(lost, k)
		case len(got) > 1:
			twice = append(twice, k)
		}
		for _, r := range got {
			if !reflect.DeepEqual(r.event, x.events[k]) {
				differ = append(differ, k)
				break
			}
		}
	}
	for k := range c.received {
		if u, ok := x.under[k]; !ok || !c.symbols[u] {
			extra = append(extra, k)
		}
	}
	st := c.f.Stats()
	say("client %s (%s): %d of %d events; lost %d, twice %d, unexpected %d, different %d; "+
		"%d connections, %d resumes, %d gaps, %d lagged, %d repeats dropped by id",
		c.name, plural(len(c.symbols), "underlying"), len(keys)-len(lost), len(keys), len(lost), len(twice),
		len(extra), len(differ), st.Connections, st.Resumes, st.Gaps, st.Lagged, st.Repeats)
	ok := len(lost)+len(twice)+len(extra)+len(differ) == 0 && st.Gaps == 0 && c.err == nil
	if !ok {
		sort.Strings(extra)
		say("  %s: lost %v, twice %v, unexpected %v, different %v, error %v", c.name,
			head(lost), head(twice), head(extra), head(differ), c.err)
		if len(differ) > 0 {
			g, _ := json.Marshal(c.received[differ[0]][0].event)
			w, _ := json.Marshal(x.events[differ[0]])
			say("  %s: event %s\n    got  %s\n    want %s", c.name, differ[0], g, w)
		}
		for _, n := range c.notices {
			if n.Kind == "gap" {
				say("  %s: gap on %s: %s", c.name, n.URL, n.Message)
			}
		}
	}
	return ok
}

// checkStreams requires each expected event in the shard streams once.
func checkStreams(ctx context.Context, e *env, x *expected) bool {
	rdb := redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
	defer rdb.Close()
	seen := map[string]int{}
	entries := 0
	for shard := range stream.DefaultShards {
		msgs, err := rdb.XRange(ctx, stream.Key(shard), "-", "+").Result()
		if err != nil {
			say("streams: XRANGE %s: %v", stream.Key(shard), err)
			return false
		}
		for _, m := range msgs {
			entries++
			var ev struct {
				Key string `json:"key"`
			}
			raw, _ := m.Values[stream.FieldEvent].(string)
			if err := json.Unmarshal([]byte(raw), &ev); err != nil {
				say("streams: entry %s of %s: %v", m.ID, stream.Key(shard), err)
				return false
			}
			seen[ev.Key]++
		}
	}
	var missing, twice, extra []string
	for k := range x.events {
		switch seen[k] {
		case 0:
			missing = append(missing, k)
		case 1:
		default:
			twice = append(twice, k)
		}
	}
	for k := range seen {
		if _, ok := x.events[k]; !ok {
			extra = append(extra, k)
		}
	}
	say("redis streams: %d entries; %d events missing, %d written twice, %d unexpected",
		entries, len(missing), len(twice), len(extra))
	if len(missing)+len(twice)+len(extra) > 0 {
		say("  missing %v, twice %v, unexpected %v", head(missing), head(twice), head(extra))
		return false
	}
	return true
}

// checkDeadLetters requires every refused record in the dead-letter topic
// with its reason. A record may be set aside more than once (a scorer died
// between producing its dead letter and committing); its place tells.
func checkDeadLetters(ctx context.Context, e *env, x *expected, poison poisoned) bool {
	got, n, err := deadLetters(ctx, strings.Split(e.brokers, ","), e.st.DeadLetterTopic())
	if err != nil {
		say("dead letters: %v", err)
		return false
	}
	var missing, wrong, extra []string
	reasons := map[string]int{}
	for place, want := range x.bad {
		reasons[want]++
		switch r, ok := got[place]; {
		case !ok:
			missing = append(missing, place)
		case r != want:
			wrong = append(wrong, fmt.Sprintf("%s: %s, want %s", place, r, want))
		}
	}
	for place := range got {
		if _, ok := x.bad[place]; !ok {
			extra = append(extra, place)
		}
	}
	say("dead letters: %d records for %d refused (%d poison produced), by reason %v; "+
		"%d missing, %d with another reason, %d unexpected", n, len(x.bad), poison.n, reasons,
		len(missing), len(wrong), len(extra))
	if len(missing)+len(wrong)+len(extra) > 0 || len(x.bad) != poison.n {
		say("  missing %v, wrong %v, unexpected %v", head(missing), head(wrong), head(extra))
		return false
	}
	return true
}

func head(s []string) []string {
	sort.Strings(s)
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// metrics are the series of a Prometheus text page.
type metrics map[string]float64

func scrape(url string) (metrics, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := metrics{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// sum adds every series of a metric, whatever its labels.
func (m metrics) sum(name string) float64 {
	total := 0.0
	for series, v := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			total += v
		}
	}
	return total
}

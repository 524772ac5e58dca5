package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/tools/stack"
)

// TestScoringIsDeterministic replays one synthetic tape through one scorer,
// through three scorers sharing the group, and through a scorer killed
// mid-tape and replaced, and requires the same set of events from all three:
// the same keys with the same content.
func TestScoringIsDeterministic(t *testing.T) {
	path := synthTape(t, 30_000)

	one := runScorers(t, path, 1, false)
	if len(one) < 1000 {
		t.Fatalf("only %d events from 30,000 ticks; the tape is too quiet to prove much", len(one))
	}
	three := runScorers(t, path, 3, false)
	compareEventSets(t, "three scorers", three, one)
	restarted := runScorers(t, path, 1, true)
	compareEventSets(t, "a scorer killed and replaced", restarted, one)
}

// synthTape writes n synthetic ticks, 10,000 a second of market time from
// the open, as a tape.
func synthTape(t testing.TB, n int) string {
	t.Helper()
	gen, err := synth.New(synth.Config{Seed: 11, Underlyings: 60})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "synthetic.ndjson")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	start := time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()
	for i := range n {
		tk := gen.Next(start + int64(i)*int64(100*time.Microsecond))
		b, err := tape.Format(&tk)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runScorers replays the tape on a fresh stack with the given number of
// scorers and returns every event in the streams by key, without the fields
// that record when it happened. With kill, the tape is replayed at market
// pace and the scorer is killed midway and replaced by a new one.
func runScorers(t *testing.T, path string, scorers int, kill bool) map[string]map[string]any {
	t.Helper()
	s := startStack(t)
	env := []string{"LIVEFLOW_GROUP=g-" + s.Topic,
		"LIVEFLOW_CHECKPOINT_INTERVAL=200ms", "LIVEFLOW_SESSION_TIMEOUT=6s"}
	var procs []*stack.Process
	for range scorers {
		p, err := s.Service(binDir, "scorer", append(env, "LIVEFLOW_OPS_ADDR="+freeAddr(t))...)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	speed := "0"
	if kill {
		speed = "1" // 3 s of market time
	}
	if _, err := s.Service(binDir, "ingest", "LIVEFLOW_OPS_ADDR="+freeAddr(t),
		"LIVEFLOW_FEED=file:"+path, "LIVEFLOW_REPLAY_SPEED="+speed); err != nil {
		t.Fatal(err)
	}
	if kill {
		time.Sleep(1500 * time.Millisecond)
		procs[0].Kill()
		if _, err := s.Service(binDir, "scorer", append(env, "LIVEFLOW_OPS_ADDR="+freeAddr(t))...); err != nil {
			t.Fatal(err)
		}
	}

	waitConsumed(t, s, "g-"+s.Topic, 30_000)
	events := readEvents(t, s.Redis)
	// Whatever happened to the scorers, the flow topic agrees with the
	// streams once the ticks are committed.
	checkFlowTopic(t, fmt.Sprintf("%d scorers, killed %v", scorers, kill), s, events)
	return events
}

// waitConsumed waits until the group has committed every tick of the topic.
func waitConsumed(t testing.TB, s *stack.Stack, group string, ticks int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ends, err1 := adm.ListEndOffsets(ctx, s.Topic)
		committed, err2 := adm.FetchOffsets(ctx, group)
		cancel()
		if err1 == nil && err2 == nil {
			var produced, done int64
			ends.Each(func(o kadm.ListedOffset) {
				produced += o.Offset
				if c, ok := committed.Lookup(s.Topic, o.Partition); ok {
					done += c.At
				}
			})
			if produced == ticks && done == ticks {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the scorers did not commit all %d ticks within 90s", ticks)
}

// readEvents returns every event of every shard stream by key, without the
// times that differ between runs.
func readEvents(t testing.TB, addr string) map[string]map[string]any {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	out := map[string]map[string]any{}
	for shard := range stream.DefaultShards {
		msgs, err := rdb.XRange(context.Background(), stream.Key(shard), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var e map[string]any
			if err := json.Unmarshal([]byte(m.Values[stream.FieldEvent].(string)), &e); err != nil {
				t.Fatal(err)
			}
			delete(e, "ingest_ts")
			delete(e, "scored_ts")
			key := fmt.Sprint(e["key"])
			if _, dup := out[key]; dup {
				t.Errorf("event %s is in the streams twice", key)
			}
			out[key] = e
		}
	}
	return out
}

func compareEventSets(t *testing.T, run string, got, want map[string]map[string]any) {
	t.Helper()
	var missing, extra, differ []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case !reflect.DeepEqual(g, w):
			differ = append(differ, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra)+len(differ) == 0 {
		return
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(differ)
	t.Errorf("%s: %d events missing %v, %d extra %v, %d differ %v (of %d)", run,
		len(missing), head(missing), len(extra), head(extra), len(differ), head(differ), len(want))
	if len(differ) > 0 {
		g, _ := json.Marshal(got[differ[0]])
		w, _ := json.Marshal(want[differ[0]])
		t.Errorf("first difference, %s:\n got %s\nwant %s", differ[0], g, w)
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"time"

	"github.com/liveflow/liveflow/tools/stack"
)

// A fault ends one component, with SIGKILL as a crash would or with
// SIGTERM as a deploy does, waits, and starts it again.
type fault struct {
	name   string
	signal string // how kill ends it: "kill -9" or "SIGTERM"
	// kill ends the component and says what it ended; restart brings it
	// back.
	kill    func(e *env, rng *rand.Rand) (string, error)
	restart func(ctx context.Context, e *env) error
}

// faults are the components killed in turn, in an order the seed shuffles.
var faults = []fault{
	{
		name: "ingest", signal: "kill -9",
		kill: func(e *env, _ *rand.Rand) (string, error) {
			e.mu.Lock()
			p := e.ingest
			e.mu.Unlock()
			p.Kill()
			return "ingest (it replays its tape from the start when it comes back)", nil
		},
		restart: func(_ context.Context, e *env) error { return e.startIngest() },
	},
	{
		name: "scorer", signal: "kill -9",
		kill: func(e *env, rng *rand.Rand) (string, error) {
			e.takeScorer(rng).Kill()
			return "a scorer (the other takes its partitions over)", nil
		},
		restart: func(_ context.Context, e *env) error { return e.startScorer() },
	},
	{
		name: "scorer-stop", signal: "SIGTERM",
		kill: func(e *env, rng *rand.Rand) (string, error) {
			return "a scorer (it finishes its batch, commits and leaves the group)",
				ignoreSignalExit(e.takeScorer(rng).Stop(15 * time.Second))
		},
		restart: func(_ context.Context, e *env) error { return e.startScorer() },
	},
	{
		name: "edge", signal: "kill -9",
		kill: func(e *env, rng *rand.Rand) (string, error) {
			i, p := e.takeEdge(rng)
			p.Kill()
			return fmt.Sprintf("edge %d at %s (its clients resume on the other)", i, e.edgeAddrs[i]), nil
		},
		restart: func(ctx context.Context, e *env) error { return e.startEdge(ctx, e.downEdge) },
	},
	{
		name: "edge-stop", signal: "SIGTERM",
		kill: func(e *env, rng *rand.Rand) (string, error) {
			i, p := e.takeEdge(rng)
			return fmt.Sprintf("edge %d at %s (it closes its clients with 1012; they resume on the other)",
				i, e.edgeAddrs[i]), ignoreSignalExit(p.Stop(10 * time.Second))
		},
		restart: func(ctx context.Context, e *env) error { return e.startEdge(ctx, e.downEdge) },
	},
	{
		name: "redis", signal: "kill -9",
		kill: func(e *env, _ *rand.Rand) (string, error) {
			e.redis.Kill()
			return "redis-server (append-only file on)", nil
		},
		restart: func(ctx context.Context, e *env) error { return e.startRedis(ctx) },
	},
	{
		name: "kafka", signal: "kill -9",
		kill: func(e *env, _ *rand.Rand) (string, error) {
			what := "the kafkafake process (kfake with its data on disk)"
			if e.kafka == nil {
				what = "the Kafka broker"
			}
			return what, e.killKafka()
		},
		restart: func(ctx context.Context, e *env) error { return e.restartKafka(ctx) },
	},
}

// injected is one fault as it happened.
type injected struct {
	name     string
	what     string
	at, down time.Duration // after the tape started; how long it stayed down
}

// inject kills and restarts every component once, in a shuffled order, each
// at a random moment of its slot of the window, and returns what it did.
func inject(ctx context.Context, e *env, rng *rand.Rand, start time.Time, window time.Duration,
	log func(string, ...any)) ([]injected, error) {
	order := rng.Perm(len(faults))
	if e.kafka == nil {
		// A real broker takes half a minute or more to come back: killed
		// last, it does not push the other faults past the end of the tape.
		k := slices.IndexFunc(order, func(i int) bool { return faults[i].name == "kafka" })
		order = append(append(order[:k:k], order[k+1:]...), order[k])
	}
	slot := window / time.Duration(len(order))
	var out []injected
	for n, i := range order {
		f := faults[i]
		at := time.Duration(n)*slot + time.Duration(rng.Int64N(int64(slot/2)))
		down := 500*time.Millisecond + time.Duration(rng.Int64N(int64(2500*time.Millisecond)))
		if err := sleep(ctx, time.Until(start.Add(at))); err != nil {
			return out, err
		}
		at = time.Since(start)
		what, err := f.kill(e, rng)
		if err != nil {
			return out, fmt.Errorf("faults: kill %s: %w", f.name, err)
		}
		log("t+%-6s %s %s; back in %s", time.Since(start).Round(100*time.Millisecond), f.signal, what,
			down.Round(100*time.Millisecond))
		if err := sleep(ctx, down); err != nil {
			return out, err
		}
		if err := f.restart(ctx, e); err != nil {
			return out, fmt.Errorf("faults: restart %s: %w", f.name, err)
		}
		log("t+%-6s %s is back", time.Since(start).Round(100*time.Millisecond), f.name)
		out = append(out, injected{name: f.name, what: f.signal + " " + what, at: at, down: down})
	}
	return out, nil
}

// takeScorer picks one of the running scorers and forgets it.
func (e *env) takeScorer(rng *rand.Rand) *stack.Process {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := rng.IntN(len(e.scorers))
	p := e.scorers[i]
	e.scorers = append(e.scorers[:i:i], e.scorers[i+1:]...)
	e.scorerOps = append(e.scorerOps[:i:i], e.scorerOps[i+1:]...)
	return p
}

// takeEdge picks an edge for a fault and remembers it to start it again.
func (e *env) takeEdge(rng *rand.Rand) (int, *stack.Process) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.downEdge = rng.IntN(len(e.edgeAddrs))
	return e.downEdge, e.edges[e.downEdge]
}

// ignoreSignalExit drops the error of a process that ended by the signal it
// was sent, which is how a stopped service may end.
func ignoreSignalExit(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && !ee.Exited() {
		return nil
	}
	return err
}

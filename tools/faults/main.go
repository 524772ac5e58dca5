// Command faults is the fault-injection suite: it starts the real stack as
// separate processes (Kafka, redis-server with append-only persistence, two
// scorers, two edges, ingest), streams a known tape while WebSocket clients
// follow it across edges, kills every component with SIGKILL at a random
// moment and starts it again, and then checks that each client received
// exactly the events the ticks in Kafka must produce: none lost, none twice,
// none different. Refused records must be in the dead-letter topic.
//
// The randomness is seeded; the seed is printed, and -seed replays a run.
// It exits 1 when a check fails.
//
//	go run ./faults -bin ../bin                       # on a kafkafake process
//	go run ./faults -bin ../bin -kafka-brokers HOST:PORT \
//	    -broker-dir DIR -broker-script ../scripts/kafka/broker.sh   # on a real broker
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	bin          string
	seed         uint64
	brokers      string // a real broker; "" starts kafkafake
	brokerDir    string
	brokerScript string
	ticks        int
	duration     time.Duration
	underlyings  int
	clients      int
	verbose      bool
	keep         bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin", "directory of the ingest, scorer, edge and kafkafake binaries")
	flag.Uint64Var(&cfg.seed, "seed", 0, "seed of the fault schedule and the bad input; 0 picks one (printed)")
	flag.StringVar(&cfg.brokers, "kafka-brokers", "", "a real Kafka broker to use instead of a kafkafake process; needs -broker-dir")
	flag.StringVar(&cfg.brokerDir, "broker-dir", "", "the real broker's directory, as given to broker.sh start")
	flag.StringVar(&cfg.brokerScript, "broker-script", "scripts/kafka/broker.sh", "broker.sh, which crashes and restarts the real broker")
	flag.IntVar(&cfg.ticks, "ticks", 30_000, "ticks on the tape")
	flag.DurationVar(&cfg.duration, "duration", 30*time.Second, "market time the tape spans, replayed at its pace")
	flag.IntVar(&cfg.underlyings, "underlyings", 40, "underlyings on the tape")
	flag.IntVar(&cfg.clients, "clients", 6, "WebSocket clients following the feed")
	flag.BoolVar(&cfg.verbose, "v", false, "print the services' output as it comes")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the run's directory (data, logs, tape) even when every check passes")
	flag.Parse()
	if cfg.seed == 0 {
		cfg.seed = rand.Uint64N(1 << 31)
	}
	if cfg.brokers != "" && cfg.brokerDir == "" {
		fmt.Fprintln(os.Stderr, "faults: -kafka-brokers needs -broker-dir, to crash and restart the broker")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v (seed %d)\n", err, cfg.seed)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// run sets the stage, injects the faults and checks the outcome. It returns
// false when a check failed and an error when the run could not be made.
func run(ctx context.Context, cfg config) (bool, error) {
	began := time.Now()
	kafka := "a kafkafake process (kfake, data on disk)"
	if cfg.brokers != "" {
		kafka = "the Apache Kafka broker at " + cfg.brokers
	}
	say("seed %d (replay with -seed %d); Kafka is %s", cfg.seed, cfg.seed, kafka)
	rng := rand.New(rand.NewPCG(cfg.seed, 0x6c697665666c6f77))

	work, err := os.MkdirTemp("", "liveflow-faults-")
	if err != nil {
		return false, err
	}
	logFile, err := os.Create(filepath.Join(work, "services.log"))
	if err != nil {
		return false, err
	}
	defer logFile.Close()
	var logs io.Writer = logFile
	if cfg.verbose {
		logs = io.MultiWriter(logFile, os.Stdout)
	}
	passed := false
	defer func() {
		if passed && !cfg.keep {
			os.RemoveAll(work)
			return
		}
		say("the run's data and logs are in %s", work)
	}()

	tp, err := writeTape(filepath.Join(work, "tape.ndjson"), cfg, rng)
	if err != nil {
		return false, err
	}
	say("tape: %d ticks of %d underlyings over %s, and %d bad lines", tp.ticks, len(tp.underlyings),
		cfg.duration, tp.badLines)

	e, err := startEnv(ctx, cfg, work, logs)
	if err != nil {
		return false, err
	}
	defer e.close()
	e.tape = tp.path

	clients, err := startClients(ctx, e, cfg, tp.underlyings, rng)
	if err != nil {
		return false, err
	}
	cctx, stopClients := context.WithCancel(ctx)
	wg := runClients(cctx, clients)
	defer func() {
		stopClients()
		wg.Wait()
	}()
	if err := waitFor(ctx, time.Minute, "every client subscribed", func() bool {
		for _, c := range clients {
			if !c.subscribed() {
				return false
			}
		}
		return true
	}); err != nil {
		return false, err
	}

	if err := e.startIngest(); err != nil {
		return false, err
	}
	start := time.Now()
	poisonDone := make(chan poisoned, 1)
	go func() { poisonDone <- injectPoison(ctx, e, tp, rng.Uint64(), start, cfg.duration) }()
	done, err := inject(ctx, e, rng, start, cfg.duration, say)
	if err != nil {
		return false, err
	}
	poison := <-poisonDone
	if poison.err != nil {
		return false, poison.err
	}
	say("produced %d poison records straight to the ticks topic", poison.n)

	ok, err := settle(ctx, e, tp)
	if err != nil {
		return false, err
	}
	passed, err = check(ctx, e, tp, clients, poison, done)
	if err != nil {
		return false, err
	}
	passed = passed && ok
	verdict := "PASS"
	if !passed {
		verdict = "FAIL"
	}
	say("%s in %s (seed %d)", verdict, time.Since(began).Round(time.Second), cfg.seed)
	return passed, nil
}

func say(format string, args ...any) {
	fmt.Printf("faults: "+format+"\n", args...)
}

// waitFor polls cond until it holds, ctx ends or within passes.
func waitFor(ctx context.Context, within time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("faults: not %s within %s", what, within)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// plural returns "n thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, thing)
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(thing, "s"))
}

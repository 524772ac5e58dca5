package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/liveflow/liveflow/loadtest/internal/account"
	"github.com/liveflow/liveflow/loadtest/internal/expect"
	"github.com/liveflow/liveflow/loadtest/internal/proc"
	"github.com/liveflow/liveflow/loadtest/internal/report"
	"github.com/liveflow/liveflow/loadtest/internal/tally"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/tick"
)

// session is one run in progress: the target, the clients and what has
// been measured so far.
type session struct {
	cfg     config
	out     io.Writer
	t       *target
	sm      *sampler
	cr      *crowd
	clients []*client
	res     *report.Result

	from, to    expect.Offsets // the window, as tick offsets
	sentFrom    time.Time      // when the first ingest started
	sentTo      time.Time      // when the last ingest stopped
	sampleFrom  int            // sampler index at the window's start
	sampleTo    int
	stagesFrom  stageScrape
	stagesTo    stageScrape
	window      *account.Window
	ticks       []int64 // sent per second from the clients' origin
	undecodable int
	replayCPU   float64 // CPU seconds the load tester spent scoring the ticks
}

// run measures the pipeline as cfg says, prints the summary to out and
// writes the result files.
func run(ctx context.Context, cfg config, out io.Writer) (*report.Result, error) {
	s := &session{cfg: cfg, out: out, res: &report.Result{Started: time.Now(),
		Command: strings.Join(os.Args, " "), Machine: machineInfo()}}
	// The clients, plus Kafka, Redis, HTTP and the rest.
	if _, err := proc.RaiseFileLimit(uint64(cfg.clients) + 512); err != nil {
		return nil, err
	}
	m, err := sampleMarket(cfg.seed, cfg.underlyings, nominalRate(cfg), plannedTicks(cfg))
	if err != nil {
		return nil, err
	}
	plans, err := planClients(cfg, m)
	if err != nil {
		return nil, err
	}
	s.res.Scenario = scenarioOf(cfg, plans, m)
	s.printSetup()

	if s.t, err = setUp(ctx, cfg); err != nil {
		return nil, err
	}
	defer s.t.close()
	s.res.Target = s.t.describe()
	if err := s.measure(ctx, plans); err != nil {
		return nil, err
	}
	if err := s.account(ctx); err != nil {
		return nil, err
	}
	s.res.Finished = time.Now()
	s.res.Machine.LoadAfter = proc.Load()
	report.Print(out, s.res)
	jsonPath, htmlPath := filepath.Join(cfg.out, "result.json"), filepath.Join(cfg.out, "report.html")
	if err := s.res.WriteJSON(jsonPath); err != nil {
		return nil, err
	}
	if err := report.WriteHTML(htmlPath, s.res); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%-11s %s, %s, %s\n", "files", htmlPath, jsonPath, s.t.logs.Name())
	return s.res, nil
}

// nominalRate is the steady rate the scenario is about.
func nominalRate(cfg config) float64 {
	if cfg.profile == profileRamp {
		return cfg.rampStart
	}
	return cfg.rate
}

// measure connects the clients, drives ingest through the profile, waits
// for the pipeline to deliver what it took in, and stops the clients.
func (s *session) measure(ctx context.Context, plans []*plan) error {
	s.sm = newSampler()
	s.sm.add(source{name: "loadtest", pid: os.Getpid()})
	for _, name := range []string{"kfake", "redis", "scorer", "edge"} {
		if pid, ok := s.t.procs[name]; ok {
			s.sm.add(source{name: name, pid: pid})
		} else if url, ok := s.t.metrics[name]; ok {
			s.sm.add(source{name: name, url: url})
		} else if name == "redis" && s.t.rdb != nil {
			s.sm.add(source{name: name, rdb: s.t.rdb})
		}
	}
	sctx, stopSampler := context.WithCancel(ctx)
	defer stopSampler()
	go s.sm.run(sctx)

	s.cr = &crowd{url: s.t.url, origin: time.Now().UnixNano(), slowDelay: s.cfg.slowDelay,
		resumeEvery: s.cfg.resumeEvery, resumePause: s.cfg.resumePause, reasons: tally.New()}
	cctx, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopClients(); wg.Wait() }()
	if err := s.connect(cctx, plans, &wg); err != nil {
		return err
	}
	if err := s.drive(ctx); err != nil {
		return err
	}
	stopClients()
	wg.Wait()
	s.sm.close()
	return nil
}

// connect starts the clients at most cfg.connectRate a second and waits
// until each has subscribed or failed.
func (s *session) connect(ctx context.Context, plans []*plan, wg *sync.WaitGroup) error {
	var ready sync.WaitGroup
	start := time.Now()
	for i, p := range plans {
		if err := sleep(ctx, time.Until(start.Add(time.Duration(float64(i)/s.cfg.connectRate*1e9)))); err != nil {
			break
		}
		c := newClient(p)
		s.clients = append(s.clients, c)
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx, s.cr, ready.Done)
		}()
	}
	ready.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, c := range s.clients {
		if c.subscribed {
			s.res.Subscribed++
		}
	}
	line(s.out, "clients", "%s of %s subscribed in %.1fs", commas(int64(s.res.Subscribed)),
		commas(int64(len(plans))), time.Since(start).Seconds())
	if s.res.Subscribed == 0 {
		return fmt.Errorf("loadtest: no client could connect and subscribe: %s", s.cr.reasons.First())
	}
	return nil
}

// drive runs the profile: marks the window's start, sends, marks its end,
// and waits out the tail.
func (s *session) drive(ctx context.Context) error {
	var err error
	if s.from, err = s.offsets(ctx); err != nil {
		return err
	}
	s.stagesFrom = scrapeStages(ctx, s.t)
	s.sampleFrom = s.sm.index()
	s.sentFrom = time.Now()
	if s.cfg.profile == profileRamp {
		err = s.ramp(ctx)
	} else {
		f := feed{rate: s.cfg.rate, factor: 1}
		if s.cfg.profile == profileBurst {
			f.factor, f.burst = s.cfg.burstFactor, s.cfg.burstFor
		}
		err = s.send(ctx, f, s.cfg.duration, true)
	}
	s.sentTo = time.Now()
	if err != nil {
		return err
	}
	if s.to, err = s.offsets(ctx); err != nil {
		return err
	}
	return s.finish(ctx)
}

// stall is how long arrivals may stop before the run gives up on the
// events still missing.
const stall = 10 * time.Second

// finish waits for the scorers to take in every tick sent, scores the ticks
// itself to learn what each client must receive, and waits until every
// client has that many events, or arrivals stall, or the tail runs out.
func (s *session) finish(ctx context.Context) error {
	deadline := time.Now().Add(s.cfg.tail)
	line(s.out, "tail", "waiting for the scorer to catch up, then for every client to have its events (at most %s)",
		s.cfg.tail)
	s.cr.settle()
	for !s.caughtUp(ctx, s.to) {
		if time.Now().After(deadline) {
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("the scorers had not committed every tick "+
				"%s after ingest stopped", s.cfg.tail))
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	before, _ := proc.Self()
	events, ticks, err := s.replay(ctx)
	if err != nil {
		return err
	}
	after, _ := proc.Self()
	s.replayCPU = after.CPU - before.CPU
	s.window, s.ticks = account.NewWindow(s.from, events), ticks
	want := make([]int64, len(s.clients))
	for i, c := range s.clients {
		want[i] = account.Expected(s.window, &c.filter)
	}
	if err := s.waitClients(ctx, want, deadline); err != nil {
		return err
	}
	s.stagesTo = scrapeStages(ctx, s.t)
	s.sampleTo = s.sm.index()
	return nil
}

// waitClients waits until no resumer is away and every subscribed client
// received at least want events but those lagged notices said were
// dropped, then a second more for anything arriving twice. It gives up when
// arrivals stall or at the deadline, with a note.
func (s *session) waitClients(ctx context.Context, want []int64, deadline time.Time) error {
	last, lastChange := s.cr.received.Load(), time.Now()
	for {
		s.cr.mu.Lock()
		done := s.cr.awayNow == 0
		s.cr.mu.Unlock()
		for i, c := range s.clients {
			if !done {
				break
			}
			got, lagged := c.progress()
			done = !c.subscribed || got+lagged >= want[i]
		}
		if done {
			return sleep(ctx, time.Second)
		}
		if got := s.cr.received.Load(); got != last {
			last, lastChange = got, time.Now()
		}
		switch {
		case time.Since(lastChange) >= stall:
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("arrivals stopped for %s with events still "+
				"missing; the run did not wait longer", stall))
			return nil
		case time.Now().After(deadline):
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("the tail of %s ran out with events still "+
				"missing: the pipeline had not delivered everything by then", s.cfg.tail))
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// send runs one ingest process with feed f for d, printing progress when
// progress is set.
func (s *session) send(ctx context.Context, f feed, d time.Duration, progress bool) error {
	p, err := s.t.startIngest(s.cfg, f)
	if err != nil {
		return err
	}
	// A deployment may name its own ingest among its services.
	name := "ingest"
	if !s.t.embedded {
		name = "loadtest-ingest"
	}
	s.sm.add(source{name: name, pid: p.pid()})
	stop := func() {
		s.sm.remove(ctx, name)
		p.stop()
	}
	start := time.Now()
	last, lastAt := s.cr.received.Load(), start
	for time.Since(start) < d {
		wait := min(10*time.Second, d-time.Since(start))
		select {
		case <-p.done:
			stop()
			return fmt.Errorf("loadtest: ingest exited (%v); see %s", p.err, s.t.logs.Name())
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-time.After(wait):
		}
		if progress {
			now, got := time.Now(), s.cr.received.Load()
			line(s.out, "sending", "%4.0fs: clients receive %s events/s", now.Sub(start).Seconds(),
				commas(int64(float64(got-last)/now.Sub(lastAt).Seconds())))
			last, lastAt = got, now
		}
	}
	stop()
	return nil
}

// settle waits until the scorers have committed every tick below to and no
// client received anything for a second, or until limit. It reports
// whether it ran out of time.
func (s *session) settle(ctx context.Context, to expect.Offsets, limit time.Duration) bool {
	const quiet = time.Second
	start := time.Now()
	last, lastChange := s.cr.received.Load(), time.Now()
	for time.Since(start) < limit {
		if sleep(ctx, 100*time.Millisecond) != nil {
			return true
		}
		if got := s.cr.received.Load(); got != last {
			last, lastChange = got, time.Now()
		}
		if time.Since(lastChange) >= quiet && s.caughtUp(ctx, to) {
			return false
		}
	}
	return true
}

// caughtUp reports whether the scorers' group committed every offset of to.
func (s *session) caughtUp(ctx context.Context, to expect.Offsets) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	committed, err := kadm.NewClient(s.t.kcl).FetchOffsets(ctx, s.cfg.scorerGroup)
	if err != nil {
		return false
	}
	for p, end := range to {
		c, ok := committed.Lookup(s.t.topic, p)
		if end > 0 && (!ok || c.At < end) {
			return false
		}
	}
	return true
}

// offsets returns the end offsets of the ticks topic.
func (s *session) offsets(ctx context.Context) (expect.Offsets, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, end, err := expect.Bounds(ctx, s.t.kcl, s.t.topic)
	return end, err
}

// account compares what every client received with what it had to.
func (s *session) account(ctx context.Context) error {
	w := s.window
	var err error
	if s.t.rdb != nil {
		if s.res.Streams, err = checkStreams(ctx, s.t.rdb, s.t.shards, w); err != nil {
			s.res.Notes = append(s.res.Notes, err.Error())
		}
	}
	accts := make([]*account.Client, 0, len(s.clients))
	s.res.ByClass = map[string]account.Totals{}
	for _, c := range s.clients {
		accts = append(accts, &c.acct)
		if !c.acct.Subscribed {
			continue
		}
		o := account.Account(w, &c.acct)
		s.res.Accounting.Add(&o)
		byClass := s.res.ByClass[c.class.String()]
		byClass.Add(&o)
		s.res.ByClass[c.class.String()] = byClass
		for _, k := range o.LostKeys {
			if len(s.res.Lost) < 10 {
				s.res.Lost = append(s.res.Lost, example(w, c, k))
			}
		}
		for _, k := range o.Unwelcome {
			if len(s.res.Unwanted) < 10 {
				s.res.Unwanted = append(s.res.Unwanted, example(w, c, k))
			}
		}
	}
	s.res.Ticks.Events = w.Len()
	s.res.Ticks.Undecodable = s.undecodable
	lat := account.Latencies(w, accts)
	s.fill(lat, s.ticks)
	return nil
}

// example describes event k of w at client c, for a report.
func example(w *account.Window, c *client, k expect.Key) string {
	e, _ := w.Event(k)
	return fmt.Sprintf("%s (%s, %s): %s %s %s premium %.0f score %d", c.id, c.class,
		watch.Describe(&c.filter), k, e.Underlying, e.Kind, e.Premium, e.Score)
}

// replay reads every tick of the window back and scores it per partition
// from the partition's first offset, as a scorer that never stopped would.
// It returns the window's events and the ticks sent per second from the
// clients' origin.
func (s *session) replay(ctx context.Context) ([]expect.Event, []int64, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start, _, err := expect.Bounds(rctx, s.t.kcl, s.t.topic)
	if err != nil {
		return nil, nil, err
	}
	parts := map[int32]*expect.Partition{}
	for p := range s.to {
		if start[p] > 0 {
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("partition %d no longer holds its first %d ticks: "+
				"its expected events are scored without them and may differ from the scorer's", p, start[p]))
		}
		if parts[p], err = expect.NewPartition(p, scoring(), s.from[p]); err != nil {
			return nil, nil, err
		}
	}
	var events []expect.Event
	var series []int64
	s.undecodable, err = expect.Read(rctx, s.t.brokers, s.t.topic, start, s.to,
		func(p int32, offset int64, t *tick.Tick) error {
			if offset >= s.from[p] {
				sec := int((t.IngestTS - s.cr.origin) / 1e9)
				if sec >= 0 && sec < 1_000_000 {
					for len(series) <= sec {
						series = append(series, 0)
					}
					series[sec]++
				}
			}
			var err error
			events, err = parts[p].Apply(t, offset, events)
			return err
		})
	if err != nil {
		return nil, nil, err
	}
	return events, series, nil
}

// errNoTicks is the run's error when ingest sent nothing.
var errNoTicks = errors.New("loadtest: no tick reached Kafka")

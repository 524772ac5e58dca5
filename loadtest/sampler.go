package main

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/loadtest/internal/proc"
	"github.com/liveflow/liveflow/loadtest/internal/prom"
)

// sampleEvery is how often the sampler reads CPU and memory.
const sampleEvery = time.Second

// source is where one process's CPU and memory come from: /proc for a
// process started here, the process_* series of a service's /metrics, or
// Redis's INFO.
type source struct {
	name string
	pid  int
	url  string
	rdb  *redis.Client

	last float64 // CPU seconds at the previous reading; -1 before the first
}

// how says where the readings come from.
func (s *source) how() string {
	switch {
	case s.pid > 0:
		return "/proc"
	case s.url != "":
		return "/metrics"
	}
	return "INFO"
}

func (s *source) read(ctx context.Context) (cpu, rss float64, ok bool) {
	switch {
	case s.pid > 0:
		u, err := proc.Read(s.pid)
		return u.CPU, u.RSS, err == nil
	case s.url != "":
		page, err := prom.Scrape(ctx, s.url)
		if err != nil {
			return 0, 0, false
		}
		cpu, ok1 := page.Sum("process_cpu_seconds_total")
		rss, _ := page.Sum("process_resident_memory_bytes")
		return cpu, rss, ok1
	case s.rdb != nil:
		info, err := s.rdb.Info(ctx, "cpu", "memory").Result()
		if err != nil {
			return 0, 0, false
		}
		cpu, rss, _ := proc.RedisInfo(info)
		return cpu, rss, true
	}
	return 0, 0, false
}

// usage is the course of one process's CPU and memory, a point per sample.
type usage struct {
	name    string
	how     string
	pids    []int
	cpu     []float64 // CPU seconds used since the previous sample
	rss     []float64 // resident bytes at the sample
	peakRSS float64
	carry   float64 // CPU seconds of a removed source, for the next sample
}

// sampler reads every source each second until stopped. Sources may be
// added and removed while it runs, e.g. one ingest process per ramp step
// under the same name.
type sampler struct {
	mu      sync.Mutex
	sources map[string]*source
	usage   map[string]*usage
	order   []string
	at      []time.Time // sample times
	busy    []float64   // machine CPU seconds busy since the previous sample
	lastM   float64     // machine CPU seconds busy at the previous sample

	stop chan struct{}
	done chan struct{}
}

func newSampler() *sampler {
	return &sampler{sources: map[string]*source{}, usage: map[string]*usage{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

// add starts reading s under its name, replacing a source of that name.
func (sm *sampler) add(s source) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	s.last = -1
	sm.sources[s.name] = &s
	u, ok := sm.usage[s.name]
	if !ok {
		u = &usage{name: s.name, how: s.how(), cpu: make([]float64, len(sm.at)),
			rss: make([]float64, len(sm.at))}
		sm.usage[s.name] = u
		sm.order = append(sm.order, s.name)
	}
	if s.pid > 0 {
		u.pids = append(u.pids, s.pid)
	}
}

// remove takes a last reading of the named source, to be added to the next
// sample, and stops reading it. Call it before the process ends.
func (sm *sampler) remove(ctx context.Context, name string) {
	sm.mu.Lock()
	s := sm.sources[name]
	delete(sm.sources, name)
	sm.mu.Unlock()
	if s == nil {
		return
	}
	if cpu, _, ok := s.read(ctx); ok && s.last >= 0 {
		sm.mu.Lock()
		sm.usage[name].carry += max(0, cpu-s.last)
		sm.mu.Unlock()
	}
}

// run samples until close.
func (sm *sampler) run(ctx context.Context) {
	defer close(sm.done)
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	sm.mu.Lock()
	sm.lastM, _ = proc.Machine()
	sm.mu.Unlock()
	sm.sample(ctx)
	for {
		select {
		case <-sm.stop:
			sm.sample(ctx)
			return
		case <-ctx.Done():
			return
		case <-t.C:
			sm.sample(ctx)
		}
	}
}

// close takes a last sample and stops.
func (sm *sampler) close() {
	close(sm.stop)
	<-sm.done
}

// sample reads every source once.
func (sm *sampler) sample(ctx context.Context) {
	sm.mu.Lock()
	sources := make([]*source, 0, len(sm.sources))
	for _, s := range sm.sources {
		sources = append(sources, s)
	}
	sm.mu.Unlock()
	type reading struct {
		s        *source
		cpu, rss float64
		ok       bool
	}
	readings := make([]reading, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			cpu, rss, ok := s.read(ctx)
			readings[i] = reading{s, cpu, rss, ok}
		})
	}
	wg.Wait()
	busy, _ := proc.Machine()

	sm.mu.Lock()
	defer sm.mu.Unlock()
	sm.at = append(sm.at, time.Now())
	sm.busy = append(sm.busy, max(0, busy-sm.lastM))
	sm.lastM = busy
	for _, u := range sm.usage {
		u.cpu = append(u.cpu, u.carry)
		u.rss = append(u.rss, 0)
		u.carry = 0
	}
	for _, r := range readings {
		if !r.ok {
			continue
		}
		u := sm.usage[r.s.name]
		if r.s.last >= 0 {
			u.cpu[len(u.cpu)-1] += max(0, r.cpu-r.s.last)
		}
		r.s.last = r.cpu
		u.rss[len(u.rss)-1] = r.rss
		u.peakRSS = max(u.peakRSS, r.rss)
	}
}

// between returns each process's usage from sample index i to j, in the
// order sources were added, and the machine's busy CPU seconds per sample.
func (sm *sampler) between(i, j int) (out []usage, busy []float64) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	j = min(j, len(sm.at))
	i = min(i, j)
	for _, name := range sm.order {
		u := sm.usage[name]
		out = append(out, usage{name: u.name, how: u.how, pids: slices.Clone(u.pids),
			cpu: slices.Clone(u.cpu[i:j]), rss: slices.Clone(u.rss[i:j]), peakRSS: u.peakRSS})
	}
	return out, slices.Clone(sm.busy[i:j])
}

// index returns the index the next sample will have.
func (sm *sampler) index() int {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return len(sm.at)
}

// times returns the sample times from i to j.
func (sm *sampler) times(i, j int) []time.Time {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	j = min(j, len(sm.at))
	return slices.Clone(sm.at[min(i, j):j])
}

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/account"
	"github.com/liveflow/liveflow/loadtest/internal/proc"
	"github.com/liveflow/liveflow/loadtest/internal/report"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/score"
)

// scoring is the engine config of the scorers: the defaults, as a scorer
// run without scoring flags has.
func scoring() score.Config { return score.Defaults() }

// scenarioOf describes what cfg asks for.
func scenarioOf(cfg config, plans []*plan, m *market) report.Scenario {
	sc := report.Scenario{Profile: cfg.profile, Rate: nominalRate(cfg), Duration: report.Duration(cfg.duration),
		Clients: cfg.clients, Symbols: cfg.symbols, WatchSkew: cfg.skew, SlowShare: cfg.slowShare,
		SlowDelay: report.Duration(cfg.slowDelay), ResumeShare: cfg.resumeShare,
		ResumeEvery: report.Duration(cfg.resumeEvery), ResumePause: report.Duration(cfg.resumePause),
		Underlyings: cfg.underlyings, Seed: cfg.seed, Classes: make([]int, account.Classes),
		Estimate: deliveriesPerTick(m, plans) * averageRate(cfg)}
	if cfg.profile == profileBurst {
		sc.BurstFactor, sc.BurstDuration = cfg.burstFactor, report.Duration(cfg.burstFor)
	}
	if cfg.profile == profileRamp {
		sc.Duration = 0
	}
	count := make([]int, len(mix))
	for _, p := range plans {
		sc.Classes[p.class]++
		count[p.profile]++
	}
	for j, p := range mix {
		f := p.Make(nil)
		sc.Mix = append(sc.Mix, report.Mix{Filter: watch.Describe(&f), Clients: count[j]})
	}
	return sc
}

// printSetup says what is about to run.
func (s *session) printSetup() {
	sc := s.res.Scenario
	line(s.out, "loadtest", "%s", report.Profile(&sc))
	line(s.out, "", "%s clients: %d steady, %d slow (pause %s per frame), %d resuming (every ~%s, away %s)",
		commas(int64(sc.Clients)), sc.Classes[account.Steady], sc.Classes[account.Slow], s.cfg.slowDelay,
		sc.Classes[account.Resumer], s.cfg.resumeEvery, s.cfg.resumePause)
	line(s.out, "", "watchlists of %d underlyings; the filters draw about %s deliveries/s on average",
		sc.Symbols, commas(int64(sc.Estimate)))
	line(s.out, "machine", "%d CPUs (%s), load average %.2f before the start", s.res.Machine.CPUs,
		s.res.Machine.Model, s.res.Machine.LoadBefore)
}

// fill completes the result from the latencies, the ticks per second, and
// what the session gathered.
func (s *session) fill(lat *account.Latency, ticks []int64) {
	r := s.res
	first := int(s.sentFrom.UnixNano()-s.cr.origin) / 1e9
	cut := func(v []int64) []int64 {
		if first >= len(v) {
			return nil
		}
		v = v[first:]
		for len(v) > 0 && v[len(v)-1] == 0 {
			v = v[:len(v)-1]
		}
		return v
	}
	r.Ticks.Series = cut(ticks)
	r.Ticks.Sent = s.to.Total() - s.from.Total()
	r.Ticks.Seconds = s.sentTo.Sub(s.sentFrom).Seconds()
	r.Ticks.PerSecond = float64(r.Ticks.Sent) / max(r.Ticks.Seconds, 1e-9)
	r.Ticks.Peak = peak(r.Ticks.Series)
	r.Deliveries.Series = cut(lat.Received)
	r.Deliveries.Total = s.cr.received.Load()
	r.Deliveries.PerSecond = float64(r.Deliveries.Total) / max(r.Ticks.Seconds, 1e-9)
	r.Deliveries.Peak = peak(r.Deliveries.Series)

	r.Latency = map[string]report.Percentiles{}
	for c := range account.Classes {
		r.Latency[c.String()] = report.PercentilesOf(lat.Hist[c])
	}
	r.Latency["all"] = report.PercentilesOf(lat.Merged(account.Steady, account.Slow, account.Resumer))
	r.Distribution = map[string][]report.Point{}
	for c := range account.Classes {
		r.Distribution[c.String()] = report.DistributionOf(lat.Hist[c])
	}
	for i := first; i < len(lat.Seconds); i++ {
		if h := lat.Seconds[i]; h != nil {
			p := report.PercentilesOf(h)
			r.Timeline = append(r.Timeline, report.Second{Second: i - first, Count: p.Count,
				P50: p.P50, P90: p.P90, P99: p.P99, Max: p.Max})
		}
	}

	r.Lagged.Notices, r.Lagged.Dropped = s.cr.reasons.LaggedTotals()
	s.cr.mu.Lock()
	r.Resumes = report.Resumes{Replies: s.cr.resumes.Load(), Gaps: s.cr.gaps.Load(), Failed: s.cr.reconns,
		Replayed: r.Accounting.Replayed}
	s.cr.mu.Unlock()
	r.Failures = s.cr.reasons.Counts()
	r.Foreign = s.cr.foreign.Load()
	r.Stages = stages(s.stagesFrom, s.stagesTo)
	r.Counters = counters(s.stagesFrom, s.stagesTo)
	s.fillProcesses()
	if r.Ticks.Sent == 0 {
		r.Notes = append(r.Notes, errNoTicks.Error())
	}
	s.judge()
}

// peak returns the largest value of v.
func peak(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// fillProcesses sums each process's CPU and memory over the window.
func (s *session) fillProcesses() {
	usages, busy := s.sm.between(s.sampleFrom, s.sampleTo)
	at := s.sm.times(s.sampleFrom, s.sampleTo)
	if len(at) < 2 {
		return
	}
	secs := at[len(at)-1].Sub(at[0]).Seconds()
	gaps := make([]float64, len(at))
	for i := 1; i < len(at); i++ {
		gaps[i] = at[i].Sub(at[i-1]).Seconds()
	}
	for _, u := range usages {
		p := report.Process{Name: u.name, How: u.how, Pids: u.pids, PeakRSSMB: u.peakRSS / (1 << 20)}
		for i := 1; i < len(u.cpu); i++ { // the first sample's CPU is from before the window
			p.CPUSeconds += u.cpu[i]
			pct := 100 * u.cpu[i] / max(gaps[i], 1e-9)
			p.Series = append(p.Series, pct)
			p.PeakPct = max(p.PeakPct, pct)
		}
		if u.name == "loadtest" {
			// Scoring the ticks is not load; it runs once they are all sent.
			p.CPUSeconds = max(0, p.CPUSeconds-s.replayCPU)
			p.How += ", less the replay"
		}
		p.AvgPct = 100 * p.CPUSeconds / secs
		s.res.Processes = append(s.res.Processes, p)
	}
	cores := float64(runtime.NumCPU())
	total := 0.0
	for i := 1; i < len(busy); i++ {
		total += busy[i]
		s.res.Busy.Series = append(s.res.Busy.Series, 100*busy[i]/max(gaps[i], 1e-9)/cores)
	}
	s.res.Busy.AvgPct = 100 * total / secs / cores
}

// judge fills in the gate.
func (s *session) judge() {
	r, c := s.res, s.cfg
	steady := r.Latency[account.Steady.String()]
	g := report.Gate{P99LimitMs: ms(c.gateP99), AimP50Ms: ms(c.aimP50), AimP99Ms: ms(c.aimP99)}
	g.P99Met = steady.Count > 0 && steady.P99 < g.P99LimitMs
	g.NoLoss = r.Accounting.Lost == 0 && r.Accounting.Expected > 0
	g.NoDuplicates = r.Accounting.Duplicated == 0
	g.AllSubscribed = r.Subscribed == c.clients
	g.NoResumeGaps = r.Resumes.Gaps == 0 && r.Resumes.Failed == 0
	g.Passed = g.P99Met && g.NoLoss && g.NoDuplicates && g.AllSubscribed && g.NoResumeGaps
	g.AimP50Met = steady.Count > 0 && steady.P50 < g.AimP50Ms
	g.AimP99Met = steady.Count > 0 && steady.P99 < g.AimP99Ms
	r.Gate = g
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// machineInfo describes this machine.
func machineInfo() report.Machine {
	m := report.Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadBefore: proc.Load()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemoryGiB = kb / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// line writes one line of output under a label.
func line(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "%-11s "+format+"\n", append([]any{label}, args...)...)
}

// commas formats n with thousands separators.
func commas(n int64) string { return report.Commas(n) }

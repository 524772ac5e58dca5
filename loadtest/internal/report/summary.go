package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Commas formats n with thousands separators.
func Commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Profile describes the tick rate profile in words.
func Profile(sc *Scenario) string {
	switch sc.Profile {
	case "ramp":
		return fmt.Sprintf("ramp: steady steps from %s ticks/s up", Commas(int64(sc.Rate)))
	case "burst":
		return fmt.Sprintf("burst: %s ticks/s for %s, %gx for the first %s", Commas(int64(sc.Rate)),
			time.Duration(sc.Duration), sc.BurstFactor, time.Duration(sc.BurstDuration))
	}
	return fmt.Sprintf("steady: %s ticks/s for %s", Commas(int64(sc.Rate)), time.Duration(sc.Duration))
}

// verdict names whether a condition was met.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// row writes one line under a label.
func row(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "%-11s "+format+"\n", append([]any{label}, args...)...)
}

// latencyLine renders percentiles in a line.
func latencyLine(p Percentiles) string {
	if p.Count == 0 {
		return "no events"
	}
	return fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms  (%s events)",
		p.P50, p.P90, p.P99, p.P999, p.Max, Commas(p.Count))
}

// Print writes the one-screen summary.
func Print(w io.Writer, r *Result) {
	fmt.Fprintln(w)
	c := r.Scenario.Classes
	if len(c) < 3 {
		c = []int{0, 0, 0}
	}
	row(w, "scenario", "%s; %s clients (%d slow, %d resuming)", Profile(&r.Scenario),
		Commas(int64(r.Scenario.Clients)), c[1], c[2])
	row(w, "target", "%s", r.Target)
	row(w, "machine", "%d CPUs, load average %.2f before and %.2f after", r.Machine.CPUs,
		r.Machine.LoadBefore, r.Machine.LoadAfter)
	row(w, "ticks", "%s sent in %.1fs: %s/s (peak %s/s); %s events scored in the window",
		Commas(r.Ticks.Sent), r.Ticks.Seconds, Commas(int64(r.Ticks.PerSecond)), Commas(r.Ticks.Peak),
		Commas(int64(r.Ticks.Events)))
	row(w, "deliveries", "%s events to %s clients: %s/s (peak %s/s; estimated %s/s)",
		Commas(r.Deliveries.Total), Commas(int64(r.Subscribed)), Commas(int64(r.Deliveries.PerSecond)),
		Commas(r.Deliveries.Peak), Commas(int64(r.Scenario.Estimate)))
	for _, c := range []string{"steady", "slow", "resumer"} {
		label := ""
		if c == "steady" {
			label = "latency"
		}
		row(w, label, "%-8s %s", c, latencyLine(r.Latency[c]))
	}
	a := r.Accounting
	row(w, "accounting", "expected %s, delivered %s, lost %s, duplicated %s, unwanted %s",
		Commas(a.Expected), Commas(a.Delivered), Commas(a.Lost), Commas(a.Duplicated), Commas(a.Unwanted))
	if a.Misrouted > 0 {
		row(w, "", "%s of the lost are in the streams under another underlying than their own "+
			"(the scorer filed them so; see streams)", Commas(a.Misrouted))
	}
	row(w, "", "lagged: %d notices, %s events dropped, %s of the expected missing at clients that had them",
		r.Lagged.Notices, Commas(r.Lagged.Dropped), Commas(a.LostLagged))
	row(w, "resumes", "%s resume replies, %d gaps, %d resumers could not reconnect; %s events replayed",
		Commas(r.Resumes.Replies), r.Resumes.Gaps, r.Resumes.Failed, Commas(r.Resumes.Replayed))
	for _, l := range r.Lost[:min(2, len(r.Lost))] {
		row(w, "", "lost e.g. %s", l)
	}
	if s := r.Streams; s.Checked {
		row(w, "streams", "%s events of the window in Redis: %d missing, %d not in the replay, %d differing, "+
			"%d repeated, %d misrouted", Commas(int64(s.Events)), s.Missing, s.Extra, s.Differ, s.Repeated, s.Misrouted)
		for _, e := range s.Examples[:min(2, len(s.Examples))] {
			row(w, "", "%.150s", e)
		}
	}
	printStages(w, r)
	printProcesses(w, r)
	printFailures(w, r)
	if r.Ramp != nil {
		row(w, "ramp", "highest sustained rate %s ticks/s (p99 under %g ms)", Commas(int64(r.Ramp.Sustained)),
			r.Ramp.LimitMs)
	}
	g := r.Gate
	steady := r.Latency["steady"]
	row(w, "gate", "p99 %.2f ms < %g ms: %s; lost 0: %s; duplicated 0: %s; all subscribed: %s; "+
		"resumes without gap: %s", steady.P99, g.P99LimitMs, verdict(g.P99Met), verdict(g.NoLoss),
		verdict(g.NoDuplicates), verdict(g.AllSubscribed), verdict(g.NoResumeGaps))
	row(w, "", "%s", map[bool]string{true: "PASSED", false: "FAILED"}[g.Passed])
	row(w, "aims", "p50 %.2f ms < %g ms: %s; p99 %.2f ms < %g ms: %s", steady.P50, g.AimP50Ms,
		verdict(g.AimP50Met), steady.P99, g.AimP99Ms, verdict(g.AimP99Met))
	for _, n := range r.Notes {
		row(w, "note", "%s", n)
	}
}

func printStages(w io.Writer, r *Result) {
	var parts []string
	for _, s := range r.Stages {
		if s.Unit == "ms" {
			parts = append(parts, fmt.Sprintf("%s p50 %.2f p99 %.2f ms", s.Name, s.P50, s.P99))
		} else {
			parts = append(parts, fmt.Sprintf("%s p50 %.0f p99 %.0f %s", s.Name, s.P50, s.P99, s.Unit))
		}
	}
	if len(parts) > 0 {
		row(w, "stages", "%s", strings.Join(parts[:min(2, len(parts))], "; "))
		if len(parts) > 2 {
			row(w, "", "%s", strings.Join(parts[2:], "; "))
		}
	}
}

func printProcesses(w io.Writer, r *Result) {
	var parts []string
	for _, p := range r.Processes {
		parts = append(parts, fmt.Sprintf("%s %.0f%% (peak %.0f%%, %.0f MB)", p.Name, p.AvgPct, p.PeakPct, p.PeakRSSMB))
	}
	for i := 0; i < len(parts); i += 4 {
		label := ""
		if i == 0 {
			label = "cpu"
		}
		row(w, label, "%s", strings.Join(parts[i:min(i+4, len(parts))], ", "))
	}
	row(w, "", "of one core each; the whole machine was %.0f%% busy", r.Busy.AvgPct)
}

func printFailures(w io.Writer, r *Result) {
	if len(r.Failures) == 0 && r.Foreign == 0 {
		row(w, "failures", "none")
		return
	}
	var parts []string
	for _, f := range r.Failures[:min(3, len(r.Failures))] {
		parts = append(parts, fmt.Sprintf("%d %s", f.Count, f.Reason))
	}
	if r.Foreign > 0 {
		parts = append(parts, fmt.Sprintf("%d events without key or ingest_ts", r.Foreign))
	}
	row(w, "failures", "%s", strings.Join(parts, "; "))
}

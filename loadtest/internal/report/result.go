// Package report holds a load test's result: the machine-readable form
// (JSON), the one-screen summary and the self-contained HTML report with
// its plots.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/liveflow/liveflow/loadtest/internal/account"
	"github.com/liveflow/liveflow/loadtest/internal/tally"
)

// Result is everything a run measured. Latencies are in milliseconds.
type Result struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Command  string    `json:"command"`
	Machine  Machine   `json:"machine"`
	Target   string    `json:"target"`
	Scenario Scenario  `json:"scenario"`

	Ticks      Ticks      `json:"ticks"`
	Deliveries Deliveries `json:"deliveries"`
	// Latency from ingest reading a tick to a client reading its event, by
	// client class ("steady", "slow", "resumer") and for all together.
	Latency      map[string]Percentiles `json:"latency"`
	Distribution map[string][]Point     `json:"distribution"` // by client class
	Timeline     []Second               `json:"timeline"`     // of steady clients

	Accounting account.Totals            `json:"accounting"`
	ByClass    map[string]account.Totals `json:"accounting_by_class"`
	Lost       []string                  `json:"lost_examples,omitempty"`
	Unwanted   []string                  `json:"unwanted_examples,omitempty"`
	Lagged     Lagged                    `json:"lagged"`
	Resumes    Resumes                   `json:"resumes"`
	Failures   []tally.Count             `json:"failures"`
	Foreign    int64                     `json:"foreign_events"`
	Subscribed int                       `json:"subscribed"`

	Streams   Streams            `json:"streams"`
	Stages    []Stage            `json:"stages"`
	Counters  map[string]float64 `json:"counters"`
	Processes []Process          `json:"processes"`
	Busy      Busy               `json:"machine_busy"`

	Ramp  *Ramp    `json:"ramp,omitempty"`
	Gate  Gate     `json:"gate"`
	Notes []string `json:"notes,omitempty"`
}

// Machine describes where the run ran.
type Machine struct {
	CPUs       int     `json:"cpus"`
	Model      string  `json:"model"`
	MemoryGiB  float64 `json:"memory_gib"`
	Kernel     string  `json:"kernel"`
	Go         string  `json:"go"`
	LoadBefore float64 `json:"load_before"` // 1-minute load average before the stack started
	LoadAfter  float64 `json:"load_after"`
}

// Scenario is what the run asked for.
type Scenario struct {
	Profile       string   `json:"profile"`
	Rate          float64  `json:"rate"`
	Duration      Duration `json:"duration"`
	BurstFactor   float64  `json:"burst_factor,omitempty"`
	BurstDuration Duration `json:"burst_duration,omitempty"`
	Clients       int      `json:"clients"`
	Symbols       int      `json:"symbols"`
	WatchSkew     float64  `json:"watch_skew"`
	SlowShare     float64  `json:"slow_share"`
	SlowDelay     Duration `json:"slow_delay"`
	ResumeShare   float64  `json:"resume_share"`
	ResumeEvery   Duration `json:"resume_every"`
	ResumePause   Duration `json:"resume_pause"`
	Underlyings   int      `json:"underlyings"`
	Seed          int64    `json:"seed"`
	Classes       []int    `json:"clients_by_class"` // steady, slow, resumer
	Mix           []Mix    `json:"mix"`
	// Estimate is the deliveries per second the filters draw on average
	// over the run (over a ramp's first step), from a scored sample of the
	// market before the run.
	Estimate float64 `json:"estimated_deliveries_per_second"`
}

// Mix is one profile of the filter mix.
type Mix struct {
	Filter  string `json:"filter"`
	Clients int    `json:"clients"`
}

// Ticks is what ingest sent, read back from Kafka.
type Ticks struct {
	Sent        int64   `json:"sent"`
	Seconds     float64 `json:"seconds"` // from the first ingest time to the last
	PerSecond   float64 `json:"per_second"`
	Peak        int64   `json:"peak_per_second"`
	Undecodable int     `json:"undecodable"`
	Events      int     `json:"events"` // scored events of the window
	Series      []int64 `json:"series"` // ticks per second of ingest time
}

// Deliveries are the events clients received live.
type Deliveries struct {
	Total     int64   `json:"total"`
	PerSecond float64 `json:"per_second"` // over the seconds ticks were sent
	Peak      int64   `json:"peak_per_second"`
	Series    []int64 `json:"series"` // per second of receipt
}

// Percentiles summarise a latency histogram.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// PercentilesOf reads a histogram in microseconds.
func PercentilesOf(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(v int64) float64 { return float64(v) / 1000 }
	return Percentiles{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
		Mean: h.Mean() / 1000}
}

// Point is one point of a percentile distribution.
type Point struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
}

// DistributionOf samples a histogram at percentiles up to its maximum.
func DistributionOf(h *hdrhistogram.Histogram) []Point {
	if h.TotalCount() == 0 {
		return nil
	}
	var out []Point
	for _, p := range []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100} {
		out = append(out, Point{p, float64(h.ValueAtQuantile(p)) / 1000})
		if h.TotalCount() > 0 && 100-p < 100/float64(h.TotalCount()) {
			break // beyond this the histogram has no more points
		}
	}
	return out
}

// Second is the latency of steady clients' events by second of ingest time.
type Second struct {
	Second int     `json:"second"`
	Count  int64   `json:"count"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
}

// Lagged counts the edge's lagged notices.
type Lagged struct {
	Notices int64 `json:"notices"`
	Dropped int64 `json:"dropped"`
}

// Resumes counts the resumers' returns.
type Resumes struct {
	Replies  int64 `json:"replies"`
	Gaps     int64 `json:"gaps"`
	Failed   int   `json:"failed"` // resumers that could not reconnect
	Replayed int64 `json:"replayed"`
}

// Streams compares the window's events in the Redis shard streams with the
// replay's, when the run can read the streams.
type Streams struct {
	Checked     bool     `json:"checked"`
	Events      int      `json:"events"`      // entries of the window
	Missing     int      `json:"missing"`     // replayed events the streams lack
	Extra       int      `json:"extra"`       // entries the replay lacks
	Differ      int      `json:"differ"`      // entries whose filtered fields differ from the replay's
	Repeated    int      `json:"repeated"`    // entries whose key appeared before
	Misrouted   int      `json:"misrouted"`   // entries filed under another underlying or shard than their event's
	Undecodable int      `json:"undecodable"` // entries that are not an event
	Examples    []string `json:"examples,omitempty"`
}

// Stage is a service's own histogram of one stage over the measured window.
type Stage struct {
	Name  string  `json:"name"`
	What  string  `json:"what"`
	Unit  string  `json:"unit"` // "ms" or "events"
	Count float64 `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Mean  float64 `json:"mean"`
}

// Process is the CPU and memory of one process over the measured window.
type Process struct {
	Name       string    `json:"name"`
	How        string    `json:"how"` // "/proc", "/metrics" or "INFO"
	Pids       []int     `json:"pids,omitempty"`
	CPUSeconds float64   `json:"cpu_seconds"`
	AvgPct     float64   `json:"avg_pct_of_a_core"`
	PeakPct    float64   `json:"peak_pct_of_a_core"`
	PeakRSSMB  float64   `json:"peak_rss_mb"`
	Series     []float64 `json:"series"` // percent of a core per sample
}

// Busy is the whole machine's CPU over the measured window.
type Busy struct {
	AvgPct float64   `json:"avg_pct_of_all_cores"`
	Series []float64 `json:"series"` // percent of all cores per sample
}

// Ramp is the result of a ramp profile.
type Ramp struct {
	LimitMs   float64 `json:"p99_limit_ms"`
	Sustained float64 `json:"sustained_ticks_per_second"` // the highest step rate that held
	Steps     []Step  `json:"steps"`
}

// Step is one step of a ramp.
type Step struct {
	Rate    float64     `json:"rate"` // asked for
	Sent    float64     `json:"sent"` // ticks per second that reached Kafka
	Latency Percentiles `json:"latency"`
	Held    bool        `json:"held"`
}

// Gate is the verdict of the run.
type Gate struct {
	P99LimitMs    float64 `json:"p99_limit_ms"`
	P99Met        bool    `json:"p99_met"`
	NoLoss        bool    `json:"no_loss"`
	NoDuplicates  bool    `json:"no_duplicates"`
	AllSubscribed bool    `json:"all_subscribed"`
	NoResumeGaps  bool    `json:"no_resume_gaps"`
	Passed        bool    `json:"passed"`
	AimP50Ms      float64 `json:"aim_p50_ms"`
	AimP99Ms      float64 `json:"aim_p99_ms"`
	AimP50Met     bool    `json:"aim_p50_met"`
	AimP99Met     bool    `json:"aim_p99_met"`
}

// Duration is a time.Duration written as its string in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// WriteJSON writes r to path, indented.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// sample is what the run reads at each end of the measured window.
type sample struct {
	at       time.Time
	edge     map[string]float64 // the edge's series
	self     float64            // CPU seconds of edgebench
	selfRSS  float64            // peak resident memory of edgebench, bytes
	redis    float64            // CPU seconds of redis-server; -1 when unknown
	busy     float64            // CPU time of the whole machine, busy and in total,
	total    float64            // in clock ticks over all cores
	received int64              // events all clients received so far
}

// take reads a sample.
func take(ctx context.Context, metricsURL string, rdb *redis.Client,
	clients []*client) (sample, error) {
	s := sample{at: time.Now(), redis: -1}
	var err error
	if s.edge, err = scrape(ctx, metricsURL, edgeSeries); err != nil {
		return s, err
	}
	for _, c := range clients {
		s.received += c.received.Load()
	}
	s.self, s.selfRSS = selfCPU()
	s.busy, s.total = machineCPU()
	if info, err := rdb.Info(ctx, "cpu").Result(); err == nil {
		s.redis = redisCPU(info)
	}
	return s, nil
}

// selfCPU returns the user and system CPU seconds of this process and its
// peak resident memory in bytes.
func selfCPU() (cpu, maxRSS float64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(ru.Utime) + sec(ru.Stime), float64(ru.Maxrss) * 1024 // Linux counts KiB
}

// machineCPU returns the busy and total clock ticks of all cores since boot
// from /proc/stat, or zeros where there is none.
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, 0
	}
	for i, f := range fields[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i >= 8 { // guest time is counted in user time already
			break
		}
		total += v
		if i != 3 && i != 4 && i != 7 { // idle, iowait and time the hypervisor took
			busy += v
		}
	}
	return busy, total
}

// redisCPU sums used_cpu_sys and used_cpu_user of INFO cpu.
func redisCPU(info string) float64 {
	sum := 0.0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return sum
}

// raiseFileLimit lifts the soft limit on open files to the hard one when the
// clients need more than the soft limit allows, and fails when even the hard
// limit is too low. It returns a line for the report. (Go programs raise the
// soft limit at start-up since Go 1.19, so this mostly checks; an edge
// started by edgebench inherits the limits.)
func raiseFileLimit(clients int) (string, error) {
	need := uint64(clients) + 256 // the clients, plus Redis, HTTP and the rest
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("edgebench: read the open-file limit: %w", err)
	}
	if lim.Max < need {
		return "", fmt.Errorf("edgebench: -clients %d needs %d open files, the hard limit is %d: "+
			"lower -clients or raise the limit (ulimit -Hn, as root)", clients, need, lim.Max)
	}
	if lim.Cur >= need {
		return fmt.Sprintf("open files: soft limit %d, hard %d, %d needed", lim.Cur, lim.Max, need), nil
	}
	was := lim.Cur
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("edgebench: raise the open-file soft limit to %d: %w", lim.Max, err)
	}
	return fmt.Sprintf("open files: soft limit raised from %d to the hard limit %d, %d needed",
		was, lim.Max, need), nil
}

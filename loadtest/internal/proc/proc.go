// Package proc reads the CPU time and memory of processes and of the
// machine from Linux's /proc, and checks the open-file limit a load test
// needs. Where /proc is missing, readings are zero and errors say so.
package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// Usage is one reading of a process.
type Usage struct {
	CPU     float64 // user and system seconds since it started
	RSS     float64 // resident memory now, bytes
	PeakRSS float64 // highest resident memory so far, bytes
}

// Read reads process pid from /proc/<pid>/stat and /proc/<pid>/status.
func Read(pid int) (Usage, error) {
	return read(strconv.Itoa(pid))
}

// Self reads this process.
func Self() (Usage, error) { return read("self") }

func read(pid string) (Usage, error) {
	var u Usage
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return u, fmt.Errorf("proc: %w", err)
	}
	if u.CPU, err = statCPU(string(b)); err != nil {
		return u, fmt.Errorf("proc: /proc/%s/stat: %w", pid, err)
	}
	b, err = os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return u, fmt.Errorf("proc: %w", err)
	}
	u.RSS, u.PeakRSS = statusMemory(string(b))
	return u, nil
}

// statCPU returns utime plus stime of a /proc/<pid>/stat line, in seconds.
// The command name in parentheses may hold spaces, so fields are counted
// after its closing parenthesis.
func statCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %.60q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// After the name: state is field 3 of the line, utime 14 and stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("utime %q or stime %q is not a number", f[11], f[12])
	}
	return (utime + stime) / clockTicks, nil
}

// statusMemory returns VmRSS and VmHWM of /proc/<pid>/status in bytes.
func statusMemory(status string) (rss, peak float64) {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v) // "1234 kB"
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseFloat(f[0], 64)
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			peak = n * 1024
		}
	}
	return rss, peak
}

// Machine returns the busy and total CPU seconds of all cores since boot
// from /proc/stat, or zeros where there is none.
func Machine() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	return machine(string(b))
}

func machine(stat string) (busy, total float64) {
	line, _, _ := strings.Cut(stat, "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, 0
	}
	for i, f := range fields[1:] {
		if i >= 8 { // guest time is counted in user time already
			break
		}
		v, _ := strconv.ParseFloat(f, 64)
		total += v
		if i != 3 && i != 4 && i != 7 { // idle, iowait and time the hypervisor took
			busy += v
		}
	}
	return busy / clockTicks, total / clockTicks
}

// Load returns the 1-minute load average, or -1 where /proc has none.
func Load() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// RedisInfo reads the CPU seconds (used_cpu_sys plus used_cpu_user), the
// resident memory (used_memory_rss) and the process id of a Redis INFO
// reply; fields it lacks stay zero.
func RedisInfo(info string) (cpu, rss float64, pid int) {
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_cpu_sys", "used_cpu_user":
			f, _ := strconv.ParseFloat(v, 64)
			cpu += f
		case "used_memory_rss":
			rss, _ = strconv.ParseFloat(v, 64)
		case "process_id":
			pid, _ = strconv.Atoi(v)
		}
	}
	return cpu, rss, pid
}

// RaiseFileLimit lifts the soft limit on open files to the hard one when
// need files are more than the soft limit allows, and fails when even the
// hard limit is too low. It returns a line for a report. (Go programs raise
// the soft limit at start-up since Go 1.19, so this mostly checks; child
// processes inherit the limits.)
func RaiseFileLimit(need uint64) (string, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("proc: read the open-file limit: %w", err)
	}
	if lim.Max < need {
		return "", fmt.Errorf("proc: %d open files needed, the hard limit is %d: "+
			"use fewer clients or raise the limit (ulimit -Hn, as root)", need, lim.Max)
	}
	if lim.Cur >= need {
		return fmt.Sprintf("open files: soft limit %d, hard %d, %d needed", lim.Cur, lim.Max, need), nil
	}
	was := lim.Cur
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("proc: raise the open-file soft limit to %d: %w", lim.Max, err)
	}
	return fmt.Sprintf("open files: soft limit raised from %d to the hard limit %d, %d needed",
		was, lim.Max, need), nil
}

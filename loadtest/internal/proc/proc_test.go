package proc

import (
	"os"
	"testing"
)

func TestStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50.
	line := "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
	got, err := statCPU(line)
	if err != nil || got != 3 {
		t.Errorf("statCPU = %v, %v; want 3 s", got, err)
	}
	if _, err := statCPU("4242 (short) S 1"); err == nil {
		t.Error("statCPU accepted a truncated line")
	}
}

func TestStatusMemory(t *testing.T) {
	status := "Name:\tedge\nVmPeak:\t 900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t8\n"
	rss, peak := statusMemory(status)
	if rss != 10<<20 || peak != 20<<20 {
		t.Errorf("statusMemory = %v, %v", rss, peak)
	}
}

func TestMachine(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, total := machine("cpu  100 0 50 800 10 5 5 30 7 0\ncpu0 1 2 3\n")
	if busy != 1.6 || total != 10 {
		t.Errorf("machine = %v, %v; want 1.6 and 10 s", busy, total)
	}
}

func TestRedisInfo(t *testing.T) {
	info := "# Server\r\nprocess_id:777\r\n# Memory\r\nused_memory_rss:1048576\r\n# CPU\r\n" +
		"used_cpu_sys:1.25\r\nused_cpu_user:2.5\r\nused_cpu_sys_children:9\r\n"
	cpu, rss, pid := RedisInfo(info)
	if cpu != 3.75 || rss != 1<<20 || pid != 777 {
		t.Errorf("RedisInfo = %v, %v, %v", cpu, rss, pid)
	}
}

func TestReadSelfAndOthers(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	byPid, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self.RSS <= 0 || byPid.PeakRSS < byPid.RSS/2 || byPid.CPU < self.CPU {
		t.Errorf("self %+v, by pid %+v", self, byPid)
	}
	if _, err := Read(1 << 30); err == nil {
		t.Error("Read of a process that does not exist succeeded")
	}
}

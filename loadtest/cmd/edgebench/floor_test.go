package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// floorReaderEnv makes the test binary a reader process for
// BenchmarkLoopbackWriteFloor: it dials the address in the variable, as many
// times as floorConnsEnv says, and discards what arrives.
const (
	floorReaderEnv = "EDGEBENCH_FLOOR_READER"
	floorConnsEnv  = "EDGEBENCH_FLOOR_CONNS"
)

func init() {
	addr := os.Getenv(floorReaderEnv)
	if addr == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv(floorConnsEnv))
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			os.Exit(1)
		}
		go io.Copy(io.Discard, c)
	}
	select {} // the benchmark kills this process
}

// BenchmarkLoopbackWriteFloor measures what one write of an event-sized
// frame to one of many loopback TCP connections costs the writing process:
// the floor under any WebSocket server's cost per frame on this machine,
// since a frame is at least one such write. The readers are another process,
// so their CPU is not counted. Run with
//
//	go test -run '^$' -bench LoopbackWriteFloor -benchtime 200000x ./cmd/edgebench/
func BenchmarkLoopbackWriteFloor(b *testing.B) {
	for _, conns := range []int{1000, 10000} {
		b.Run("conns="+strconv.Itoa(conns), func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), floorReaderEnv+"="+ln.Addr().String(),
				floorConnsEnv+"="+strconv.Itoa(conns))
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			cs := make([]net.Conn, conns)
			for i := range cs {
				if cs[i], err = ln.Accept(); err != nil {
					b.Fatal(err)
				}
				defer cs[i].Close()
			}
			frame := make([]byte, 700) // the average scored event, as a frame

			b.ResetTimer()
			before := cpuTime()
			for i := range b.N {
				if _, err := cs[i%conns].Write(frame); err != nil {
					b.Fatal(err)
				}
			}
			used := cpuTime() - before
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N)/1e3, "cpu-µs/write")
			b.ReportMetric(float64(b.N)/used.Seconds(), "writes/cpu-s")
		})
	}
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

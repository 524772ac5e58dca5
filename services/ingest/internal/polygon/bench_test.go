package polygon

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/tick"
)

// benchFrames builds frames of n messages each over 2,000 contracts of 20
// underlyings, nine quotes to one trade, 1,000 frames in all.
func benchFrames(n int) [][]byte {
	roots := []string{"SPY", "QQQ", "AAPL", "TSLA", "NVDA", "AMZN", "META", "MSFT", "AMD", "IWM",
		"GOOGL", "NFLX", "BA", "JPM", "XOM", "COIN", "PLTR", "SMCI", "MSTR", "UBER"}
	seq := make(map[string]int64)
	var frames [][]byte
	ms := int64(1796221800000)
	for f, i := 0, 0; f < 1000; f++ {
		var b strings.Builder
		b.WriteByte('[')
		for j := 0; j < n; j, i = j+1, i+1 {
			if j > 0 {
				b.WriteByte(',')
			}
			sym := fmt.Sprintf("O:%s261218%c%08d", roots[i%20], "CP"[i/20%2], 100000+(i/40%50)*5000)
			ms++
			if i%10 == 9 {
				seq["T"+sym]++
				fmt.Fprintf(&b, `{"ev":"T","sym":%q,"x":%d,"p":%.2f,"s":%d,"c":[%d],"t":%d,"q":%d}`,
					sym, 300+i%26, 1+float64(i%500)/100, 1+i%40, 209+10*(i%2), ms, seq["T"+sym])
			} else {
				seq["Q"+sym]++
				fmt.Fprintf(&b, `{"ev":"Q","sym":%q,"bx":302,"bp":%.2f,"bs":%d,"ax":308,"ap":%.2f,"as":%d,"t":%d,"q":%d}`,
					sym, 1+float64(i%500)/100, 10+i%30, 1.05+float64(i%500)/100, 12+i%25, ms, seq["Q"+sym])
			}
		}
		b.WriteByte(']')
		frames = append(frames, []byte(b.String()))
	}
	return frames
}

// BenchmarkParse measures what the adapter does with each frame once it is
// read from the socket: decode, symbol and condition mapping, sequence
// tracking, handing ticks to a sink. It reports messages per second on one
// core.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("messages_per_frame=%d", n), func(b *testing.B) {
			frames := benchFrames(n)
			src, err := New(Config{URL: "ws://127.0.0.1/options", Key: testKey, CheckGaps: true})
			if err != nil {
				b.Fatal(err)
			}
			var sink countingSink
			h := &session{ctx: context.Background(), src: src, sink: &sink}
			var bytes int
			for _, f := range frames {
				bytes += len(f)
			}
			b.SetBytes(int64(bytes / len(frames)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for i := 0; i < b.N; i++ {
				if err := src.parser.Frame(frames[i%len(frames)], h); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime(b) - cpu0
			// Wall time on a shared machine says little; the process's CPU
			// time (this goroutine, the GC and nothing else) gives the
			// rate one core sustains.
			b.ReportMetric(float64(sink.ticks)/cpu.Seconds(), "msgs/cpu-s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(sink.ticks), "cpu-ns/msg")
			if sink.rejects > 0 {
				b.Fatalf("%d messages rejected", sink.rejects)
			}
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type countingSink struct{ ticks, rejects int }

func (s *countingSink) Tick(context.Context, *tick.Tick, int64) error { s.ticks++; return nil }
func (s *countingSink) Reject(string, error)                          { s.rejects++ }

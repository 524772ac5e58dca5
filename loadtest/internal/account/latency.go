package account

import (
	"github.com/HdrHistogram/hdrhistogram-go"
)

// NewHistogram returns a latency histogram in microseconds from 1 µs to
// 60 s with 3 significant digits.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

// Latency is the latency of the events of a window that arrived live at the
// clients that wanted them: per class, and over time.
type Latency struct {
	Hist [Classes]*hdrhistogram.Histogram
	// Seconds holds, per second of ingest time from the origin, the latency
	// of steady clients' arrivals; nil where none arrived.
	Seconds []*hdrhistogram.Histogram
	// Received counts every live arrival by second of receipt from the
	// origin, whatever its event.
	Received []int64
}

// Latencies gathers the latency of clients' live arrivals. Arrivals of
// events outside the window or unwanted by the client's filter count only
// in Received; replayed events, which waited for their client to come
// back, count nowhere.
func Latencies(w *Window, clients []*Client) *Latency {
	l := &Latency{}
	for i := range l.Hist {
		l.Hist[i] = NewHistogram()
	}
	for _, c := range clients {
		for i := range c.Live {
			r := &c.Live[i]
			got := (int(r.At) + int(r.Lat/1000)) / 1000
			l.Received = grow(l.Received, got)
			l.Received[got]++
			if !w.wanted(c.Filter, r.Key) {
				continue
			}
			_ = l.Hist[c.Class].RecordValue(int64(max(r.Lat, 1)))
			if c.Class != Steady {
				continue
			}
			sec := int(r.At / 1000)
			for len(l.Seconds) <= sec {
				l.Seconds = append(l.Seconds, nil)
			}
			if l.Seconds[sec] == nil {
				l.Seconds[sec] = hdrhistogram.New(1, 60_000_000, 2)
			}
			_ = l.Seconds[sec].RecordValue(int64(max(r.Lat, 1)))
		}
	}
	return l
}

// grow extends s so that index i exists.
func grow(s []int64, i int) []int64 {
	for len(s) <= i {
		s = append(s, 0)
	}
	return s
}

// Merged returns one histogram of the given classes.
func (l *Latency) Merged(classes ...Class) *hdrhistogram.Histogram {
	h := NewHistogram()
	for _, c := range classes {
		h.Merge(l.Hist[c])
	}
	return h
}

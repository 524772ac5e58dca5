package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

func testEvent(i, size int) *hub.Event {
	msg := fmt.Appendf(nil, `{"id":"1-%d-0"`, i)
	for len(msg) < size-1 {
		msg = append(msg, ' ')
	}
	return &hub.Event{Msg: append(msg, '}')}
}

// at sets the queue's clock.
func (q *queue) at(t time.Time) *queue {
	q.now = func() time.Time { return t }
	return q
}

func ids(evs []*hub.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = eventID(ev.Msg)
	}
	return out
}

func TestQueueShedsOldestToHalf(t *testing.T) {
	q := newQueue(8, 1<<20)
	t0 := time.Unix(1000, 0)
	for i := range 8 {
		if behind := q.at(t0).push(testEvent(i, 20)); behind != 0 {
			t.Fatalf("push %d shed with room left", i)
		}
	}
	// The ninth sheds the oldest down to half the bound, then joins.
	if behind := q.at(t0.Add(time.Second)).push(testEvent(8, 20)); behind == 0 {
		t.Fatal("a push over the bound did not shed")
	}
	if got := q.depth(); got != 4 {
		t.Fatalf("depth after shedding = %d, want 4 (3 kept plus the new one)", got)
	}
	evs, shed, depth := q.pop(nil, 1<<20)
	if depth != 4 {
		t.Errorf("pop saw %d waiting, want 4", depth)
	}
	if want := []string{"1-5-0", "1-6-0", "1-7-0", "1-8-0"}; fmt.Sprint(ids(evs)) != fmt.Sprint(want) {
		t.Errorf("kept %v, want %v", ids(evs), want)
	}
	if shed.dropped != 5 || shed.first != "1-0-0" || shed.last != "1-4-0" {
		t.Errorf("shedding = %+v, want 5 dropped from 1-0-0 to 1-4-0", shed)
	}
	if _, again, _ := q.pop(nil, 1<<20); again.dropped != 0 {
		t.Errorf("shedding reported twice: %+v", again)
	}
}

func TestQueueBoundsBytes(t *testing.T) {
	q := newQueue(1000, 1000)
	for i := range 10 {
		q.at(time.Unix(0, 0)).push(testEvent(i, 100))
	}
	if q.at(time.Unix(1, 0)).push(testEvent(10, 100)) == 0 {
		t.Fatal("a push over the byte bound did not shed")
	}
	if q.bytes > 500 {
		t.Errorf("bytes after shedding = %d, want at most half of 1000", q.bytes)
	}
}

func TestQueueBehindLastsUntilEmpty(t *testing.T) {
	q := newQueue(4, 1<<20)
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		q.at(t0).push(testEvent(i, 20)) // the fifth sheds: behind since t0
	}
	q.pop(nil, 20) // one of two taken: still behind
	for i := 5; i < 8; i++ {
		q.at(t0.Add(time.Second)).push(testEvent(i, 20))
	}
	if behind := q.at(t0.Add(3 * time.Second)).push(testEvent(8, 20)); behind != 3*time.Second {
		t.Errorf("behind = %v, want 3s, counted from the first shed", behind)
	}
	q.pop(nil, 1<<20) // empty: caught up
	for i := 9; i < 13; i++ {
		q.at(t0.Add(4 * time.Second)).push(testEvent(i, 20))
	}
	if behind := q.at(t0.Add(5 * time.Second)).push(testEvent(13, 20)); behind != time.Nanosecond {
		t.Errorf("behind = %v after catching up, want a fresh start", behind)
	}
}

func TestQueuePopTakesAtLeastOne(t *testing.T) {
	q := newQueue(10, 1<<20)
	q.at(time.Unix(0, 0)).push(testEvent(0, 300))
	q.at(time.Unix(0, 0)).push(testEvent(1, 300))
	evs, _, _ := q.pop(nil, 100)
	if len(evs) != 1 {
		t.Fatalf("pop with a bound below one event took %d, want 1", len(evs))
	}
	evs, _, _ = q.pop(evs[:0], 1000)
	if len(evs) != 1 || eventID(evs[0].Msg) != "1-1-0" {
		t.Fatalf("second pop = %v", ids(evs))
	}
}

func TestQueueDoesNotGrowWhileShedding(t *testing.T) {
	q := newQueue(16, 1<<20)
	for i := range 100_000 {
		q.at(time.Unix(0, 0)).push(testEvent(i, 20))
	}
	if c := cap(q.evs); c > 64 {
		t.Errorf("backing slice grew to %d for a bound of 16", c)
	}
}

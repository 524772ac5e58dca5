package wsclient

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestParseEventID(t *testing.T) {
	shard, id, err := parseEventID("11-1796308200031-2")
	if err != nil || shard != 11 || id != (entryID{1796308200031, 2}) {
		t.Errorf("parseEventID = %d, %v, %v", shard, id, err)
	}
	for _, bad := range []string{"", "11", "11-1", "x-1-2", "-1-1-2", "1-a-2", "1-2-b", "1-2-3-4"} {
		if _, _, err := parseEventID(bad); err == nil {
			t.Errorf("parseEventID(%q) accepted", bad)
		}
	}
}

// The follower hands on each event once: repeats, in the same or a later
// frame, are dropped by comparing ids per shard.
func TestFollowerDeliversEachEventOnce(t *testing.T) {
	var got []string
	f, err := NewFollower(FollowConfig{URLs: []string{"ws://unused"}, Filter: map[string]any{"symbols": []string{"A"}},
		OnEvents: func(evs []Event) {
			for _, e := range evs {
				got = append(got, e.ID)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(ids ...string) []json.RawMessage {
		out := make([]json.RawMessage, len(ids))
		for i, id := range ids {
			out[i] = json.RawMessage(fmt.Sprintf(`{"id":%q,"kind":"trade"}`, id))
		}
		return out
	}
	if err := f.subscribed("ws://unused", Message{Positions: []string{"1-5-0", "2-0-0"}}, false); err != nil {
		t.Fatal(err)
	}
	for _, fr := range [][]json.RawMessage{
		frame("1-4-0", "1-5-0", "1-6-0", "2-1-0"), // 1-4-0 and 1-5-0 lie before the position
		frame("1-6-0", "2-1-0", "2-1-1"),          // a resume's overlap
		frame("1-7-0"),
	} {
		if err := f.deliver(fr); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[1-6-0 2-1-0 2-1-1 1-7-0]" {
		t.Errorf("delivered %v", got)
	}
	if s := f.Stats(); s.Events != 4 || s.Repeats != 4 {
		t.Errorf("stats %+v, want 4 events and 4 repeats", s)
	}
	if err := f.deliver(frame("nonsense")); err == nil {
		t.Error("an event with a bad id was accepted")
	}
}

// FuzzFollowerFrame feeds arbitrary server frames to what a Follower does
// with them: decoding must fail or deliver events whose ids grow in each
// shard, never panic.
func FuzzFollowerFrame(f *testing.F) {
	f.Add([]byte(`{"op":"events","events":[{"id":"1-5-0","kind":"trade"},{"id":"2-1-0"}]}`))
	f.Add([]byte(`{"op":"subscribed","id":"follow","positions":["1-5-0","3-0-0"],"missed":[{"id":"1-6-0"}]}`))
	f.Add([]byte(`{"op":"events","events":[{"id":"1-99999999999999999999-0"},{"id":5},null]}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		last := map[int]entryID{}
		fl, err := NewFollower(FollowConfig{URLs: []string{"ws://unused"}, Filter: map[string]any{"symbols": []string{"A"}},
			OnEvents: func(evs []Event) {
				for _, e := range evs {
					shard, id, err := parseEventID(e.ID)
					if err != nil || shard != e.Shard {
						t.Fatalf("delivered %q as shard %d: %v", e.ID, e.Shard, err)
					}
					if prev, ok := last[shard]; ok && !id.after(prev) {
						t.Fatalf("delivered %q after %v", e.ID, prev)
					}
					last[shard] = id
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		var m Message
		if json.Unmarshal(frame, &m) != nil {
			return
		}
		switch m.Op {
		case "subscribed":
			_ = fl.subscribed("ws://unused", m, true)
		default:
			_ = fl.deliver(m.Events)
		}
		_ = fl.deliver(m.Events)
	})
}

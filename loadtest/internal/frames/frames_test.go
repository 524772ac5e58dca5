package frames

import (
	"fmt"
	"testing"
)

func TestScan(t *testing.T) {
	frame := []byte(`{"op":"events","events":[` +
		`{"id":"11-1796308200031-0","key":"3.120.0","kind":"sweep","ts":5,` +
		`"ingest_ts":1796308200030000000,` +
		`"reasons":["a \"quoted {\"id\":\"x\" reason"],"fills":[{"key":"3.118.0","ts":4}]},` +
		`{"id":"2-1796308200031-1","kind":"trade","ingest_ts":"bad"},` +
		`{"id":"x","key":"0.7.0","ingest_ts":12}]}`)
	var got []string
	n := Scan(frame, func(e Event) {
		got = append(got, fmt.Sprintf("%s %d %q %d", e.ID, e.Shard, e.Key, e.IngestTS))
	})
	want := []string{`11-1796308200031-0 11 "3.120.0" 1796308200030000000`,
		`2-1796308200031-1 2 "" 0`, `x -1 "0.7.0" 12`}
	if n != len(want) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Scan found %d events %q, want %q", n, got, want)
	}
	empty := []byte(`{"op":"events","events":[]}`)
	if Scan(empty, func(Event) { t.Error("event in an empty frame") }) != 0 {
		t.Error("an empty frame has events")
	}
}

func TestIsEvents(t *testing.T) {
	if !IsEvents([]byte(`{"op":"events","events":[]}`)) || IsEvents([]byte(`{"op":"pong"}`)) {
		t.Error("IsEvents does not tell events frames from others")
	}
}

func TestParseKey(t *testing.T) {
	for key, want := range map[string][3]int64{
		"3.120.0": {3, 120, 0}, "0.0.2": {0, 0, 2}, "11.99999999.17": {11, 99999999, 17},
	} {
		p, o, n, ok := ParseKey([]byte(key))
		if !ok || [3]int64{p, o, n} != want {
			t.Errorf("ParseKey(%q) = %d, %d, %d, %v; want %v", key, p, o, n, ok, want)
		}
	}
	for _, key := range []string{"", "3", "3.", "3.x.0", "3.12", "3.12.", "3.12.0.1", "-1.2.0",
		"3.92233720368547758070.0"} {
		if _, _, _, ok := ParseKey([]byte(key)); ok {
			t.Errorf("ParseKey(%q) succeeded", key)
		}
	}
}

package main

import (
	"strings"
	"testing"
)

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-url", "http://x/ws", "-redis-addr", "r:1"}, "-url"},
		{[]string{"-metrics-url", "x", "-redis-addr", "r:1"}, "-metrics-url"},
		{[]string{"-clients", "0", "-redis-addr", "r:1"}, "-clients"},
		{[]string{"-symbols", "0", "-redis-addr", "r:1"}, "-symbols"},
		{[]string{"-symbols", "400", "-redis-addr", "r:1"}, "-underlyings"},
		{[]string{"-rate", "0", "-redis-addr", "r:1"}, "-rate"},
		{[]string{"-rate", "NaN", "-redis-addr", "r:1"}, "-rate"},
		{[]string{"-watch-skew", "-1", "-redis-addr", "r:1"}, "-watch-skew"},
		{[]string{"-shards", "0", "-redis-addr", "r:1"}, "-shards"},
		{[]string{"-duration", "10ms", "-redis-addr", "r:1"}, "-duration"},
		{[]string{"-tail", "-1s", "-redis-addr", "r:1"}, "-tail"},
		{[]string{"-ramp", "0", "-redis-addr", "r:1"}, "-ramp"},
		{[]string{"-pool", "5", "-redis-addr", "r:1"}, "-pool"},
		{[]string{}, "-redis-addr"},
		{[]string{"-edge-bin", "bin/edge", "-url", "ws://127.0.0.1:1/ws"}, "-edge-bin"},
		{[]string{"-redis-addr", "r:1", "extra"}, "extra"},
		{[]string{"-clients", "many"}, "many"},
	} {
		_, err := parse(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := parse([]string{"-edge-bin", "bin/edge"})
	if err != nil {
		t.Fatal(err)
	}
	if c.clients != 10_000 || c.symbols != 20 || c.redisAddr != "" || c.rate != 30 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345",
	} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

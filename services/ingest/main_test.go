package main

import "testing"

func TestParseRejectsBadSettings(t *testing.T) {
	tests := map[string][]string{
		"feed":         {"-feed", "ftp://x"},
		"empty file":   {"-feed", "file:"},
		"rate":         {"-rate", "0"},
		"burst":        {"-burst-factor", "0.5"},
		"replay speed": {"-replay-speed", "-1"},
		"linger":       {"-linger", "-1ms"},
		"breaker":      {"-breaker-failures", "0"},
		"partitions":   {"-partitions", "0"},
		"underlyings":  {"-underlyings", "-3"},
		"brokers":      {"-kafka-brokers", "nohostport"},
	}
	for name, args := range tests {
		if _, err := parse(args); err == nil {
			t.Errorf("%s: parse(%q) accepted", name, args)
		}
	}
}

func TestParseFeed(t *testing.T) {
	t.Setenv("LIVEFLOW_FEED", "file:/tmp/tape.ndjson")
	t.Setenv("LIVEFLOW_REPLAY_SPEED", "0")
	c, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.spec.Kind != "file" || c.spec.Path != "/tmp/tape.ndjson" || c.replaySpeed != 0 {
		t.Errorf("parse = %+v, want the file feed at full speed", c)
	}
}

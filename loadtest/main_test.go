package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-url", "http://x/ws"}, "-url"},
		{[]string{"-kafka-brokers", "k:9092"}, "-kafka-brokers describes a deployment"},
		{[]string{"-url", "ws://x/ws", "-metrics", "edge"}, "-metrics"},
		{[]string{"-url", "ws://x/ws", "-metrics", "edge=ftp://x"}, "-metrics edge"},
		{[]string{"-profile", "spiky"}, "-profile"},
		{[]string{"-rate", "0"}, "-rate"},
		{[]string{"-rate", "NaN"}, "-rate"},
		{[]string{"-duration", "10ms"}, "-duration"},
		{[]string{"-burst-factor", "0.5"}, "-burst-factor"},
		{[]string{"-burst-duration", "2m"}, "-burst-duration"},
		{[]string{"-profile", "ramp", "-ramp-max", "10"}, "-ramp-start"},
		{[]string{"-profile", "ramp", "-ramp-hold", "10ms"}, "-ramp-hold"},
		{[]string{"-clients", "0"}, "-clients"},
		{[]string{"-symbols", "400"}, "-symbols"},
		{[]string{"-watch-skew", "-1"}, "-watch-skew"},
		{[]string{"-slow-share", "0.7", "-resume-share", "0.5"}, "-slow-share"},
		{[]string{"-resume-every", "1ms"}, "-resume-every"},
		{[]string{"-connect-rate", "0"}, "-connect-rate"},
		{[]string{"-shards", "0"}, "-shards"},
		{[]string{"-tail", "0s"}, "-tail"},
		{[]string{"-out", ""}, "-out"},
		{[]string{"extra"}, "extra"},
	} {
		_, err := parse(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The standard scenario of make bench.
	if c.url != "" || c.profile != profileBurst || c.rate != 10_000 || c.duration != time.Minute ||
		c.clients != 2000 || c.symbols != 20 || c.gateP99 != 25*time.Millisecond {
		t.Errorf("defaults: %+v", c)
	}
	d, err := parse([]string{"-url", "ws://127.0.0.1:8080/ws", "-metrics",
		"edge=http://127.0.0.1:8080/metrics, scorer=http://127.0.0.1:9102/metrics"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := parseMetrics(d.metrics)
	if len(m) != 2 || m["scorer"] != "http://127.0.0.1:9102/metrics" {
		t.Errorf("metrics %v", m)
	}
}

func TestClientsAndEstimate(t *testing.T) {
	cfg, err := parse([]string{"-clients", "1000", "-underlyings", "100"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sampleMarket(cfg.seed, cfg.underlyings, cfg.rate, plannedTicks(cfg))
	if err != nil {
		t.Fatal(err)
	}
	plans, err := planClients(cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	var classes [3]int
	for _, p := range plans {
		classes[p.class]++
		if len(p.filter.Symbols) != cfg.symbols {
			t.Fatalf("client %d watches %d underlyings", p.n, len(p.filter.Symbols))
		}
	}
	// 5% slow and 5% resuming, spread evenly.
	if classes[1] < 45 || classes[1] > 55 || classes[2] < 45 || classes[2] > 55 {
		t.Errorf("classes %v", classes)
	}
	if e := deliveriesPerTick(m, plans); e <= 0 {
		t.Errorf("the filters draw %v deliveries per tick", e)
	}
	again, _ := planClients(cfg, m)
	if strings.Join(again[7].filter.Symbols, ",") != strings.Join(plans[7].filter.Symbols, ",") {
		t.Error("the same seed gave other watchlists")
	}
}

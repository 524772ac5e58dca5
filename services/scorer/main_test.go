package main

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/liveflow/liveflow/pkg/record"
)

func TestParseRejectsBadSettings(t *testing.T) {
	tests := map[string][]string{
		"shards":     {"-shards", "0"},
		"many shard": {"-shards", "5000"},
		"partitions": {"-partitions", "0"},
		"group":      {"-group", ""},
		"topic":      {"-ticks-topic", ""},
		"brokers":    {"-kafka-brokers", "localhost"},
		"no brokers": {"-kafka-brokers", " , "},
		"not a flag": {"-nope"},
		"bad number": {"-block-size", "many"},
		"flow topic": {"-flow-topic", "options.ticks"},
		"dlq topic":  {"-dlq-topic", "options.ticks"},
		"retention":  {"-flow-retention", "1s"},
		"registry":   {"-schema-registry", "registry:8081"},
		"redis addr": {"-redis-addr", "redis"},
		"redis mode": {"-redis-mode", "sentinel"},
		"one server": {"-redis-addr", "r1:7000,r2:7001", "-redis-mode", "single"},
	}
	for name, args := range tests {
		if _, err := parse(args); err == nil {
			t.Errorf("%s: parse(%q) accepted", name, args)
		}
	}
}

func TestParseReadsEnvironment(t *testing.T) {
	t.Setenv("LIVEFLOW_SHARDS", "8")
	t.Setenv("LIVEFLOW_KAFKA_BROKERS", "a:1,b:2")
	c, err := parse([]string{"-group", "g2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.shards != 8 || c.brokers != "a:1,b:2" || c.group != "g2" {
		t.Errorf("parse = %+v; want shards 8 and brokers from the environment, group from the flag", c)
	}

	// A flag on the command line wins over the environment.
	c, err = parse([]string{"-shards", "4"})
	if err != nil || c.shards != 4 {
		t.Errorf("parse(-shards 4) with LIVEFLOW_SHARDS=8 = %d, %v; want 4", c.shards, err)
	}

	t.Setenv("LIVEFLOW_SHARDS", "zero")
	if _, err := parse(nil); err == nil || !strings.Contains(err.Error(), "shards") {
		t.Errorf("parse with LIVEFLOW_SHARDS=zero = %v, want an error naming shards", err)
	}
}

func TestParseStreamNotify(t *testing.T) {
	if c, err := parse(nil); err != nil || c.notify {
		t.Errorf("parse() = notify %v, %v; want notifications off by default", c.notify, err)
	}
	t.Setenv("LIVEFLOW_STREAM_NOTIFY", "true")
	if c, err := parse(nil); err != nil || !c.notify {
		t.Errorf("parse with LIVEFLOW_STREAM_NOTIFY=true = notify %v, %v; want on", c.notify, err)
	}
}

func TestParseRedisCluster(t *testing.T) {
	if c, err := parse(nil); err != nil || c.redisAddr != "127.0.0.1:6379" || c.redisMode != "auto" {
		t.Errorf("parse() = redis %q mode %q, %v; want 127.0.0.1:6379 auto", c.redisAddr, c.redisMode, err)
	}
	t.Setenv("LIVEFLOW_REDIS_ADDR", "r1:7000,r2:7001,r3:7002")
	t.Setenv("LIVEFLOW_REDIS_MODE", "cluster")
	c, err := parse(nil)
	if err != nil || c.redisAddr != "r1:7000,r2:7001,r3:7002" || c.redisMode != "cluster" {
		t.Errorf("parse with cluster seeds = redis %q mode %q, %v", c.redisAddr, c.redisMode, err)
	}
}

func TestFlowCodecRegistersWithTheRegistry(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	c, err := parse([]string{"-schema-registry", reg.URL(), "-flow-topic", "quant.flow"})
	if err != nil {
		t.Fatal(err)
	}
	codec, err := newFlowCodec(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := codec.RegistryID()
	if !ok {
		t.Fatal("the flow codec does not frame for the registry")
	}
	rc, _ := record.NewRegistry(reg.URL())
	if text, _, err := rc.Latest(context.Background(), "quant.flow-value"); err != nil || text == "" {
		t.Errorf("nothing registered under quant.flow-value (id %d): %v", id, err)
	}

	// Without a registry the codec writes single-object records; an
	// unreachable one is a start-up error.
	c, _ = parse(nil)
	if codec, err := newFlowCodec(context.Background(), c); err != nil {
		t.Fatal(err)
	} else if _, ok := codec.RegistryID(); ok {
		t.Error("registry framing without a registry")
	}
	c, _ = parse([]string{"-schema-registry", "http://127.0.0.1:1"})
	if _, err := newFlowCodec(context.Background(), c); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable registry: %v; want an error naming it", err)
	}
}

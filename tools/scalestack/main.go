// Command scalestack runs liveflow scaled out on one machine: kfake, a
// private Redis Cluster (three masters with a replica each by default),
// several scorers sharing the ticks topic, several edges, and haproxy in
// front of the edges. It runs no ingest: a load tester or `bin/ingest`
// brings the ticks.
//
// Once everything is up it writes the addresses as shell variables to -env
// (and prints them), for a load tester to read:
//
//	LIVEFLOW_SCALE_URL      WebSocket URL of haproxy
//	LIVEFLOW_SCALE_BROKERS  Kafka seed broker
//	LIVEFLOW_SCALE_TOPIC    ticks topic
//	LIVEFLOW_SCALE_REDIS    the cluster's seed nodes
//	LIVEFLOW_SCALE_METRICS  name=URL,... of every scorer's and edge's /metrics
//
// Ctrl-C or SIGTERM stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/tools/stack"
)

type config struct {
	bin        string
	scorers    int
	edges      int
	masters    int
	replicas   int
	partitions int
	shards     int
	fanout     string
	maxConn    int
	env        string
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "bin", "directory holding the scorer and edge binaries")
	flag.IntVar(&c.scorers, "scorers", 3, "scorer processes")
	flag.IntVar(&c.edges, "edges", 3, "edge processes behind haproxy")
	flag.IntVar(&c.masters, "masters", 3, "Redis Cluster masters")
	flag.IntVar(&c.replicas, "replicas", 1, "replicas of each master")
	flag.IntVar(&c.partitions, "partitions", 12, "partitions of the ticks topic")
	flag.IntVar(&c.shards, "shards", 16, "shard streams")
	flag.StringVar(&c.fanout, "fanout", "xread", "the edges' fan-out mode: xread or pubsub (the scorers then notify)")
	flag.IntVar(&c.maxConn, "max-conn", 8000, "client connections haproxy holds at most (two descriptors each)")
	flag.StringVar(&c.env, "env", ".cache/scalestack.env", "file the addresses are written to")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "scalestack: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	switch {
	case c.scorers < 1 || c.edges < 1 || c.masters < 3 || c.replicas < 0:
		return errors.New("want at least one scorer and one edge, three masters and no negative replica count")
	case c.fanout != "xread" && c.fanout != "pubsub":
		return fmt.Errorf("-fanout %q: want xread or pubsub", c.fanout)
	}
	for _, name := range []string{"scorer", "edge"} {
		if _, err := os.Stat(c.bin + "/" + name); err != nil {
			return fmt.Errorf("service binary %s/%s is missing; build with `make build`", c.bin, name)
		}
	}
	say("starting kfake and a Redis Cluster of %d masters with %d replicas each", c.masters, c.replicas)
	s, err := stack.Start(ctx, stack.Config{
		Partitions:   int32(c.partitions),
		RedisCluster: &localredis.ClusterOptions{Masters: c.masters, Replicas: c.replicas},
		Logs:         os.Stdout,
	})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping")
		if err := s.Close(); err != nil {
			say("%v", err)
		}
	}()

	shards := "LIVEFLOW_SHARDS=" + strconv.Itoa(c.shards)
	var metrics, ready []string
	var procs []*stack.Process
	for i := range c.scorers {
		ops, err := stack.FreeAddr()
		if err != nil {
			return err
		}
		p, err := s.Service(c.bin, "scorer", "LIVEFLOW_OPS_ADDR="+ops, shards,
			"LIVEFLOW_STREAM_NOTIFY="+strconv.FormatBool(c.fanout == "pubsub"))
		if err != nil {
			return err
		}
		procs = append(procs, p)
		metrics = append(metrics, fmt.Sprintf("scorer%d=http://%s/metrics", i, ops))
		ready = append(ready, "http://"+ops+"/readyz")
	}
	var edges []string
	for i := range c.edges {
		addr, err := stack.FreeAddr()
		if err != nil {
			return err
		}
		p, err := s.Service(c.bin, "edge", "LIVEFLOW_HTTP_ADDR="+addr, shards, "LIVEFLOW_FANOUT="+c.fanout)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		edges = append(edges, addr)
		metrics = append(metrics, fmt.Sprintf("edge%d=http://%s/metrics", i, addr))
		ready = append(ready, "http://"+addr+"/readyz")
	}
	for _, u := range ready {
		if err := stack.WaitReady(ctx, u, time.Minute, procs...); err != nil {
			return err
		}
	}
	lb, err := stack.StartHAProxy(ctx, edges, stack.HAProxyOptions{MaxConn: c.maxConn, Logs: os.Stdout})
	if err != nil {
		return err
	}
	defer lb.Stop()

	env := strings.Join([]string{
		"LIVEFLOW_SCALE_URL=ws://" + lb.Addr + "/ws",
		"LIVEFLOW_SCALE_BROKERS=" + s.Brokers,
		"LIVEFLOW_SCALE_TOPIC=" + s.Topic,
		"LIVEFLOW_SCALE_REDIS=" + s.Redis,
		"LIVEFLOW_SCALE_METRICS=" + strings.Join(metrics, ","),
	}, "\n") + "\n"
	// Written whole, then renamed: a reader never sees half of it.
	if err := os.WriteFile(c.env+".tmp", []byte(env), 0o644); err != nil {
		return err
	}
	if err := os.Rename(c.env+".tmp", c.env); err != nil {
		return err
	}
	defer os.Remove(c.env)
	say("running; addresses in %s:\n%s", c.env, env)
	<-ctx.Done()
	return nil
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scalestack: "+format+"\n", args...)
}

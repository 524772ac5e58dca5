// Package redisconn builds the Redis client of every service from one
// setting, so that each accepts a single server or a Redis Cluster alike.
//
// The setting is a comma-separated list of host:port addresses. One address
// is a single server unless the mode says cluster; several are the seed
// nodes of a cluster, from which the client learns the rest of it.
package redisconn

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode says how to read the addresses.
type Mode string

const (
	ModeAuto    Mode = "auto"    // a cluster when more than one address is given
	ModeSingle  Mode = "single"  // one server
	ModeCluster Mode = "cluster" // a Redis Cluster, even from one seed address
)

// Options are the settings of a client besides its addresses.
type Options struct {
	Mode Mode
	// PoolSize is the number of connections per node; 0 means go-redis's
	// default. A service that blocks connections in reads sizes it.
	PoolSize int
}

// Parse splits and checks an address list.
func Parse(addrs string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(addrs, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return nil, fmt.Errorf("redis address %q: want host:port", a)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("redis address %q: port %q is not 1 to 65535", a, port)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no redis address")
	}
	return out, nil
}

// Check reports whether addrs and mode make a valid setting, without
// building a client: services call it when they validate their flags.
func Check(addrs string, mode Mode) error {
	_, _, err := resolve(addrs, mode)
	return err
}

// resolve parses the addresses and settles the mode they mean.
func resolve(addrs string, mode Mode) ([]string, Mode, error) {
	list, err := Parse(addrs)
	if err != nil {
		return nil, "", err
	}
	switch mode {
	case "", ModeAuto:
		mode = ModeSingle
		if len(list) > 1 {
			mode = ModeCluster
		}
	case ModeSingle:
		if len(list) > 1 {
			return nil, "", fmt.Errorf("redis mode single takes one address, not %d", len(list))
		}
	case ModeCluster:
	default:
		return nil, "", fmt.Errorf("redis mode %q: want auto, single or cluster", mode)
	}
	return list, mode, nil
}

// New returns a client for the addresses: a *redis.Client for a single
// server, a *redis.ClusterClient for a cluster. Commands time out with their
// context. A cluster client re-reads the slot map whenever a node fails, so
// it follows a replica that took over from a crashed master within a
// retry or two.
func New(addrs string, opts Options) (redis.UniversalClient, error) {
	list, mode, err := resolve(addrs, opts.Mode)
	if err != nil {
		return nil, err
	}
	if mode == ModeCluster {
		cc := redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: list, PoolSize: opts.PoolSize, ContextTimeoutEnabled: true,
			// A safety net under the reload on failure below.
			ClusterStateReloadInterval: 10 * time.Second,
		})
		cc.OnNewNode(func(node *redis.Client) { node.AddHook(reloadOnFailure{cc}) })
		return cc, nil
	}
	return redis.NewClient(&redis.Options{
		Addr: list[0], PoolSize: opts.PoolSize, ContextTimeoutEnabled: true,
	}), nil
}

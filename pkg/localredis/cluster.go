package localredis

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// NumSlots is the number of hash slots of a Redis Cluster.
const NumSlots = 16384

// ClusterOptions configure a Redis Cluster. The zero value means three
// masters without replicas.
type ClusterOptions struct {
	Masters  int // 0 means 3
	Replicas int // replicas of each master
	// NodeTimeout is how long a master may be unreachable before its replica
	// takes over; 0 means 1s.
	NodeTimeout time.Duration
}

// Cluster is a Redis Cluster of private redis-server processes on loopback
// ports. It is created the way an operator creates one, with
// `redis-cli --cluster create`, so the masters hold the default slot ranges:
// equal, contiguous, in the order the nodes were started.
//
// The nodes run with cluster-require-full-coverage off: while one master is
// down, the slots of the others keep serving.
//
// Methods may be called concurrently.
type Cluster struct {
	mu    sync.Mutex
	nodes []*Server // every node started, live or not
	dead  map[string]bool
}

// clusterNodeArgs returns the redis-server arguments of a cluster node.
func clusterNodeArgs(timeout time.Duration) ([]string, error) {
	if timeout == 0 {
		timeout = time.Second
	}
	// The bus port is normally the client port plus 10,000, which a free
	// port from the ephemeral range may not have: ask for one of its own.
	bus, err := FreePort()
	if err != nil {
		return nil, err
	}
	return []string{
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-port", strconv.Itoa(bus),
		"--cluster-node-timeout", strconv.FormatInt(timeout.Milliseconds(), 10),
		"--cluster-require-full-coverage", "no",
		// A replica takes over however long it was cut off from its master.
		"--cluster-replica-validity-factor", "0",
		// A new replica syncs at once instead of waiting 5s for others, and
		// is listed in CLUSTER SLOTS once its master's replication offset
		// moved, which an idle master's ping to replicas does every second
		// instead of every 10s.
		"--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1",
	}, nil
}

// StartCluster starts the nodes, creates the cluster and waits until every
// node reports it healthy and every replica is in sync. Stop ends it.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if opts.Masters == 0 {
		opts.Masters = 3
	}
	if opts.Masters < 3 || opts.Replicas < 0 {
		return nil, fmt.Errorf("localredis: a cluster needs at least 3 masters and no negative replica count, not %d and %d",
			opts.Masters, opts.Replicas)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("localredis: redis-cli not found on PATH (it comes with redis-server: apt-get install redis-server)")
	}
	c := &Cluster{dead: map[string]bool{}}
	n := opts.Masters * (1 + opts.Replicas)
	for range n {
		s, err := Start(ctx, Options{Cluster: true, NodeTimeout: opts.NodeTimeout})
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.nodes = append(c.nodes, s)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(opts.Replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("localredis: redis-cli --cluster create: %v: %s", err, tail(out))
	}
	if err := c.WaitHealthy(ctx, 30*time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.waitReplicas(ctx, opts.Replicas, 30*time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Addrs returns the host:port of every node started, live or not.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		out[i] = s.Addr()
	}
	return out
}

// Seeds returns the nodes' addresses comma-separated, as services take them.
func (c *Cluster) Seeds() string { return strings.Join(c.Addrs(), ",") }

// live returns the addresses of the nodes not killed.
func (c *Cluster) live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.nodes {
		if !c.dead[s.Addr()] {
			out = append(out, s.Addr())
		}
	}
	return out
}

// Range is a range of hash slots, both ends included, with the nodes that
// serve it: its master, and those of its replicas that are online.
type Range struct {
	Start, End int
	Master     string // "" when no online master serves the range
	Replicas   []string
}

// Ranges returns every slot range that a live node knows to be served.
func (c *Cluster) Ranges(ctx context.Context) ([]Range, error) {
	var last error
	for _, addr := range c.live() {
		ranges, err := rangesOf(ctx, addr)
		if err == nil {
			return ranges, nil
		}
		last = err
	}
	return nil, fmt.Errorf("localredis: cluster shards: %w", last)
}

// rangesOf returns the slot ranges as the node at addr sees them (CLUSTER
// SHARDS), sorted by first slot.
func rangesOf(ctx context.Context, addr string) ([]Range, error) {
	shards, err := onNode(addr, func(rdb *redis.Client) ([]redis.ClusterShard, error) {
		return rdb.ClusterShards(ctx).Result()
	})
	if err != nil {
		return nil, err
	}
	var out []Range
	for _, sh := range shards {
		var master string
		var replicas []string
		for _, n := range sh.Nodes {
			if n.Health != "online" {
				continue
			}
			a := net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
			if n.Role == "master" {
				master = a
			} else {
				replicas = append(replicas, a)
			}
		}
		for _, r := range sh.Slots {
			out = append(out, Range{Start: int(r.Start), End: int(r.End), Master: master, Replicas: replicas})
		}
	}
	slices.SortFunc(out, func(a, b Range) int { return a.Start - b.Start })
	return out, nil
}

// MasterOf returns the address of the master serving a slot.
func (c *Cluster) MasterOf(ctx context.Context, slot int) (string, error) {
	ranges, err := c.Ranges(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range ranges {
		if slot >= r.Start && slot <= r.End && r.Master != "" {
			return r.Master, nil
		}
	}
	return "", fmt.Errorf("localredis: no master serves slot %d", slot)
}

// Kill ends the node at addr at once, as a crash would. Its replica, if it
// is a master with one, takes over after the node timeout; WaitHealthy
// waits for that.
func (c *Cluster) Kill(addr string) error {
	c.mu.Lock()
	var victim *Server
	for _, s := range c.nodes {
		if s.Addr() == addr && !c.dead[addr] {
			victim = s
		}
	}
	if victim != nil {
		c.dead[addr] = true
	}
	c.mu.Unlock()
	if victim == nil {
		return fmt.Errorf("localredis: no live cluster node at %s", addr)
	}
	victim.Kill()
	return nil
}

// Failover makes a replica of the master at addr take its place with
// CLUSTER FAILOVER, the planned hand-over in which the replica first
// catches up with every write the master acknowledged, and waits until the
// cluster is healthy again. It returns the new master's address.
func (c *Cluster) Failover(ctx context.Context, addr string) (string, error) {
	replica, err := c.replicaOf(ctx, addr)
	if err != nil {
		return "", err
	}
	if _, err := onNode(replica, func(rdb *redis.Client) (string, error) {
		return rdb.ClusterFailover(ctx).Result()
	}); err != nil {
		return "", fmt.Errorf("localredis: cluster failover on %s: %w", replica, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		role, err := onNode(replica, func(rdb *redis.Client) ([]any, error) {
			return rdb.Do(ctx, "ROLE").Slice()
		})
		if err == nil && len(role) > 0 && role[0] == "master" {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("localredis: %s did not become master within 30s (role %v, %v)", replica, role, err)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return "", err
		}
	}
	return replica, c.WaitHealthy(ctx, 30*time.Second)
}

// replicaOf returns the address of a live replica of the master at addr.
func (c *Cluster) replicaOf(ctx context.Context, addr string) (string, error) {
	ranges, err := c.Ranges(ctx)
	if err != nil {
		return "", err
	}
	live := c.live()
	for _, r := range ranges {
		if r.Master != addr {
			continue
		}
		for _, a := range r.Replicas {
			if slices.Contains(live, a) {
				return a, nil
			}
		}
	}
	return "", fmt.Errorf("localredis: master %s has no live replica", addr)
}

// WaitHealthy waits until every live node reports cluster_state:ok and they
// all agree that live masters serve every slot.
func (c *Cluster) WaitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := c.healthy(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("localredis: cluster not healthy within %s: %w", within, err)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// healthy says what is still wrong with the cluster, or nil.
func (c *Cluster) healthy(ctx context.Context) error {
	live := c.live()
	var first string
	for _, addr := range live {
		info, err := onNode(addr, func(rdb *redis.Client) (string, error) {
			return rdb.ClusterInfo(ctx).Result()
		})
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state is not ok", addr)
		}
		ranges, err := rangesOf(ctx, addr)
		if err != nil {
			return err
		}
		covered := 0
		var view []string
		for _, r := range ranges {
			if !slices.Contains(live, r.Master) {
				return fmt.Errorf("%s: slots %d-%d have no live master", addr, r.Start, r.End)
			}
			covered += r.End - r.Start + 1
			view = append(view, fmt.Sprintf("%d-%d@%s", r.Start, r.End, r.Master))
		}
		if covered != NumSlots {
			return fmt.Errorf("%s: %d of %d slots served", addr, covered, NumSlots)
		}
		if first == "" {
			first = fmt.Sprint(view)
		} else if fmt.Sprint(view) != first {
			return fmt.Errorf("%s: nodes disagree on slot owners", addr)
		}
	}
	return nil
}

// waitReplicas waits until every node lists each master with its replicas
// and every replica's link to its master is up, so a failover finds the
// replica ready.
func (c *Cluster) waitReplicas(ctx context.Context, replicas int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, addr := range c.live() {
		for {
			err := replicaReady(ctx, addr, replicas)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("localredis: replicas not ready within %s: %w", within, err)
			}
			if err := sleep(ctx, 20*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// replicaReady says what a node does not yet see of the replicas, or nil.
func replicaReady(ctx context.Context, addr string, replicas int) error {
	info, err := onNode(addr, func(rdb *redis.Client) (string, error) {
		return rdb.Info(ctx, "replication").Result()
	})
	if err != nil {
		return err
	}
	if !strings.Contains(info, "role:master") && !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("%s: replica link to its master is down", addr)
	}
	ranges, err := rangesOf(ctx, addr)
	if err != nil {
		return err
	}
	for _, r := range ranges {
		if len(r.Replicas) != replicas {
			return fmt.Errorf("%s: slots %d-%d have %d online replicas, want %d",
				addr, r.Start, r.End, len(r.Replicas), replicas)
		}
	}
	return nil
}

// Stop ends every node and removes their directories.
func (c *Cluster) Stop() {
	c.mu.Lock()
	nodes := c.nodes
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop()
		}()
	}
	wg.Wait()
}

// onNode runs f with a short-lived client of one node.
func onNode[T any](addr string, f func(*redis.Client) (T, error)) (T, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	return f(rdb)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

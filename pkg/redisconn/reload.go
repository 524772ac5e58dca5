package redisconn

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// reloadOnFailure is a hook on each node of a cluster client that makes the
// client re-read the cluster's slot map as soon as a node fails to answer.
//
// go-redis learns of a new slot owner only from a MOVED reply or from its
// periodic reload. A master that crashed sends no MOVED, so without this a
// client would keep dialling the dead address until the next periodic
// reload, long after a replica took over. Re-reading is cheap and coalesced
// by go-redis (at most one reload in flight, then a 200 ms pause).
type reloadOnFailure struct {
	cc *redis.ClusterClient
}

// DialHook covers what no command reports, such as a Pub/Sub subscription
// failing to reconnect to a dead node.
func (h reloadOnFailure) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		h.check(err)
		return conn, err
	}
}

func (h reloadOnFailure) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(err)
		return err
	}
}

func (h reloadOnFailure) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(err)
		return err
	}
}

// check asks for a reload after an error that may mean the slot map moved:
// a failed connection, or a node saying its part of the cluster is down.
func (h reloadOnFailure) check(err error) {
	if nodeFailed(err) {
		h.cc.ReloadState(context.Background())
	}
}

// nodeFailed reports whether err is a failure of the node rather than an
// answer: not a reply of the server (except CLUSTERDOWN, TRYAGAIN and
// READONLY-like replies about the cluster), not a missing value, not the
// caller's context ending.
func nodeFailed(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		return strings.HasPrefix(msg, "CLUSTERDOWN") || strings.HasPrefix(msg, "TRYAGAIN") ||
			strings.HasPrefix(msg, "MASTERDOWN")
	}
	return true
}

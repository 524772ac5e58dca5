// Package stream names and writes the Redis streams that carry scored events
// from scorers to edges.
//
// Events are spread over S shard streams by underlying: shard = FNV-1a 32-bit
// hash of the underlying, modulo S. Shard n lives under the key
// "flow:{n.k}"; the braces are a Redis Cluster hash tag, so the stream, its
// bookkeeping hash "flow:{n.k}:applied" and its channel share a slot, and k
// is the smallest number that puts that slot where Slot(n) plans it, so that
// shards spread evenly over the masters of a cluster (see slot.go).
//
// Each stream entry has two fields: "u", the underlying, which lets an edge
// route an entry without parsing it, and "e", the event as JSON.
//
// A Writer can also announce each append on the shard channel
// "flow:{n.k}:live" (see Channel and Notification), so edges may follow the
// streams by sharded Pub/Sub instead of blocking reads; the stream remains
// the record that late or disconnected readers catch up from.
package stream

import (
	"hash/fnv"
)

// DefaultShards is the shard count used when none is configured.
const DefaultShards = 16

// Shard returns the shard of an underlying among shards streams.
func Shard(underlying string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(underlying))
	return int(h.Sum32() % uint32(shards))
}

// Key returns the stream key of a shard, e.g. "flow:{3.5519}".
func Key(shard int) string {
	return "flow:{" + tag(shard) + "}"
}

// appliedKey returns the key of the hash that records, per Kafka topic and
// partition, the last offset whose events were added to the shard's stream.
func appliedKey(shard int) string {
	return Key(shard) + ":applied"
}

// Entry field names.
const (
	FieldUnderlying = "u"
	FieldEvent      = "e"
)

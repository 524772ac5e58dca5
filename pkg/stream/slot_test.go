package stream

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
)

func TestKeySlotHashesTheTag(t *testing.T) {
	// 0x31c3 is the check value of CRC-16/XMODEM, "123456789".
	for key, want := range map[string]int{
		"123456789": 0x31c3, "{123456789}.anything": 0x31c3, "a{123456789}{b}": 0x31c3,
		"foo{{bar}}zap": KeySlot("{bar"), // the tag ends at the first "}"
	} {
		if got := KeySlot(key); got != want {
			t.Errorf("KeySlot(%q) = %d, want %d", key, got, want)
		}
	}
}

// keySlotVectors are keys whose slot a real cluster confirms, covering
// each rule of hash tags.
var keySlotVectors = []string{
	"123456789", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "no{tag", "",
}

func TestShardKeysLandOnTheirPlannedSlots(t *testing.T) {
	if got, want := Key(7), "flow:{7.959}"; got != want {
		t.Errorf("Key(7) = %q, want %q: the key format is a protocol (docs/protocol.md)", got, want)
	}
	seen := map[string]int{}
	for n := range 1024 {
		k := Key(n)
		if other, dup := seen[k]; dup {
			t.Fatalf("shards %d and %d share the key %q", other, n, k)
		}
		seen[k] = n
		for _, key := range []string{k, appliedKey(n), Channel(n)} {
			if got := KeySlot(key); got != Slot(n) {
				t.Fatalf("shard %d: %q is in slot %d, want %d", n, key, got, Slot(n))
			}
		}
	}
}

// TestPowerOfTwoShardsSpreadEvenly checks, for the slot ranges that
// redis-cli gives M masters, that a power-of-two shard count puts S/M
// shards on each master, give or take one, where the plain tags "0".."S-1"
// leave some masters with half of what others hold.
func TestPowerOfTwoShardsSpreadEvenly(t *testing.T) {
	for s := 4; s <= 1024; s *= 2 {
		for m := 3; m <= 8; m++ {
			counts := perMaster(s, m, Slot)
			lo, hi := s/m, (s+m-1)/m
			for i, c := range counts {
				if c < lo || c > hi {
					t.Errorf("%d shards on %d masters: master %d holds %d, want %d to %d (all: %v)",
						s, m, i, c, lo, hi, counts)
				}
			}
		}
	}
	plain := func(n int) int { return KeySlot(strconv.Itoa(n)) }
	if got := fmt.Sprint(perMaster(16, 6, plain)); got != "[4 2 2 4 1 3]" {
		t.Errorf("plain tags of 16 shards on 6 masters spread %s; the comment in slot.go quotes [4 2 2 4 1 3]", got)
	}
}

// perMaster counts the shards of each of m masters holding redis-cli's
// default slot ranges, given where each shard's slot is.
func perMaster(shards, m int, slot func(int) int) []int {
	counts := make([]int, m)
	for n := range shards {
		s := slot(n)
		for i, last := range defaultRanges(m) {
			if s <= last {
				counts[i]++
				break
			}
		}
	}
	return counts
}

// defaultRanges returns the last slot of each master's range as
// `redis-cli --cluster create` splits 16384 slots over m masters.
func defaultRanges(m int) []int {
	per := float64(NumSlots) / float64(m)
	var out []int
	first, cursor := 0, 0.0
	for i := range m {
		last := int(math.Round(cursor + per - 1))
		if last > NumSlots-1 || i == m-1 {
			last = NumSlots - 1
		}
		last = max(last, first)
		out = append(out, last)
		first, cursor = last+1, cursor+per
	}
	return out
}

// TestShardsSpreadOverARealCluster asks a real three-master cluster where
// the keys of 16 shards live: the server must agree with Slot, and the
// masters hold 6, 5 and 5 shards (the plain tags would give 6, 6 and 4).
func TestShardsSpreadOverARealCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.Cluster(t, localredis.ClusterOptions{})
	ranges, err := c.Ranges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count := func(slot func(int) int) map[string]int {
		out := map[string]int{}
		for n := range DefaultShards {
			for _, r := range ranges {
				if s := slot(n); s >= r.Start && s <= r.End {
					out[r.Master]++
				}
			}
		}
		return out
	}
	one := redis.NewClient(&redis.Options{Addr: c.Addrs()[0]})
	defer one.Close()
	keys := slices.Clone(keySlotVectors)
	for n := range DefaultShards {
		keys = append(keys, Key(n))
	}
	for _, key := range keys {
		got, err := one.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if int(got) != KeySlot(key) {
			t.Errorf("CLUSTER KEYSLOT %q = %d, KeySlot says %d", key, got, KeySlot(key))
		}
	}
	var planned, plain []int
	for _, addr := range c.Addrs() {
		planned = append(planned, count(Slot)[addr])
		plain = append(plain, count(func(n int) int { return KeySlot(strconv.Itoa(n)) })[addr])
	}
	if fmt.Sprint(planned) != "[6 5 5]" {
		t.Errorf("16 shards on the masters in start order: %v, want [6 5 5]", planned)
	}
	if fmt.Sprint(plain) != "[6 6 4]" {
		t.Errorf("plain tags on the masters: %v; docs/scaling.md quotes [6 6 4]", plain)
	}
}

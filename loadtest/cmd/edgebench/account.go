package main

import (
	"math/bits"
	"slices"

	"github.com/liveflow/liveflow/loadtest/internal/watch"
)

// profilePasses returns, per pool event, a bit per mix profile whose
// conditions other than symbols the event meets.
func profilePasses(p *pool) []uint8 {
	filters := make([]watch.Filter, len(watch.Mix))
	for j, prof := range watch.Mix {
		filters[j] = prof.Make(nil)
	}
	pass := make([]uint8, len(p.events))
	for i := range p.events {
		for j := range filters {
			if filters[j].Passes(&p.events[i].Attrs) {
				pass[i] |= 1 << j
			}
		}
	}
	return pass
}

// watchers lists, per underlying of the pool, the clients that watch it.
func watchers(p *pool, clients []*client) [][]*client {
	out := make([][]*client, len(p.underlyings))
	for _, c := range clients {
		for _, u := range c.watch {
			out[u] = append(out[u], c)
		}
	}
	return out
}

// fanout returns how many clients want the average event of the pool: the
// deliveries one written event makes.
func fanout(p *pool, clients []*client, pass []uint8) float64 {
	// Per underlying, how many watchers have each profile.
	byProfile := make([][8]int, len(p.underlyings)) // a profile is a bit of a uint8
	for _, c := range clients {
		for _, u := range c.watch {
			byProfile[u][c.profile]++
		}
	}
	total := 0
	for i := range p.events {
		for j := range watch.Mix {
			if pass[i]&(1<<j) != 0 {
				total += byProfile[p.events[i].und][j]
			}
		}
	}
	return float64(total) / float64(len(p.events))
}

// account fills in, for every subscribed client, how many writes of the
// window [lo, hi) its filter wants (expected), how many of those arrived
// (delivered) and how many other window writes arrived (unwanted). Call it
// once the clients have stopped.
func account(p *pool, clients []*client, pass []uint8, lo, hi int64) {
	var subscribed []*client
	for _, c := range clients {
		if c.subscribed {
			subscribed = append(subscribed, c)
		}
	}
	watch := watchers(p, subscribed)
	n := int64(len(p.events))
	for seq := lo; seq < hi; seq++ {
		ev := seq % n
		for _, c := range watch[p.events[ev].und] {
			if pass[ev]&(1<<c.profile) == 0 {
				continue
			}
			c.expected++
			if c.got(seq - lo) {
				c.delivered++
			}
		}
	}
	for _, c := range subscribed {
		c.unwanted = arrived(c.seen, hi-lo) - c.delivered
	}
}

// arrived counts the bits set among the first n of seen.
func arrived(seen []uint64, n int64) int64 {
	total := 0
	for w, word := range seen {
		if int64(w*64) >= n {
			break
		}
		if rest := n - int64(w*64); rest < 64 {
			word &= 1<<rest - 1
		}
		total += bits.OnesCount64(word)
	}
	return int64(total)
}

// spread is the distribution of a per-client count.
type spread struct{ min, p1, p50, max int64 }

func spreadOf(v []int64) spread {
	if len(v) == 0 {
		return spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	at := func(q float64) int64 { return s[int(q*float64(len(s)-1))] }
	return spread{min: s[0], p1: at(0.01), p50: at(0.5), max: s[len(s)-1]}
}

package main

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/account"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/synth"
)

// market is a sample of the synthetic market ingest will send, scored: how
// many events each underlying makes, and how many of them each profile of
// the filter mix wants. Watchlists are drawn from it, and it tells before
// the run how many deliveries the clients' filters will draw.
type market struct {
	underlyings []string // with events in the sample, most first
	counts      []int    // events per underlying, as underlyings
	passes      [][]int  // per underlying, events each profile wants
	ticks       int      // ticks in the sample
	events      int
}

// mix is the filter mix of the clients.
var mix = watch.Notable

// sampleMarket scores the first ticks of the synthetic market, sent with
// ingest's settings at rate: at least 20,000 and at most maxSample.
func sampleMarket(seed int64, underlyings int, rate float64, ticks int) (*market, error) {
	sampleTicks := min(max(ticks, 20_000), maxSample)
	gen, err := synth.New(synth.Config{Seed: seed, Underlyings: underlyings})
	if err != nil {
		return nil, err
	}
	eng, err := score.New(score.Defaults())
	if err != nil {
		return nil, err
	}
	filters := make([]watch.Filter, len(mix))
	for j, p := range mix {
		filters[j] = p.Make(nil)
	}
	count := map[string]int{}
	pass := map[string][]int{}
	start, gap := time.Now().UnixNano(), int64(float64(time.Second)/rate)
	var out []flow.Event
	for i := range sampleTicks {
		t := gen.Next(start + int64(i)*gap)
		t.IngestTS = t.TS
		out, err = eng.Apply(&t, score.Source{Offset: int64(i)}, t.TS, out[:0])
		if err != nil {
			continue // the scorer skips such ticks too
		}
		for k := range out {
			e := &out[k]
			e.Finish()
			a := watch.Attrs{Underlying: e.Underlying, Kind: e.Kind, Side: e.Side, Sentiment: e.Sentiment,
				Right: e.Right, Premium: e.Premium, Score: e.Score, DTE: e.DTE, Flags: e.FlagNames}
			count[a.Underlying]++
			if pass[a.Underlying] == nil {
				pass[a.Underlying] = make([]int, len(filters))
			}
			for j := range filters {
				if filters[j].Passes(&a) {
					pass[a.Underlying][j]++
				}
			}
		}
	}
	m := &market{ticks: sampleTicks}
	for u, n := range count {
		m.underlyings = append(m.underlyings, u)
		m.events += n
	}
	slices.SortFunc(m.underlyings, func(a, b string) int {
		return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b))
	})
	for _, u := range m.underlyings {
		m.counts = append(m.counts, count[u])
		m.passes = append(m.passes, pass[u])
	}
	return m, nil
}

// maxSample bounds the ticks sampleMarket scores, about 3 s of work.
const maxSample = 1_000_000

// plannedTicks is how many ticks the profile sends: the whole run for
// steady and burst, so the sample sees the flags and aggregates that build
// up through it, and the first two steps for a ramp.
func plannedTicks(cfg config) int {
	switch cfg.profile {
	case profileRamp:
		return int((2*cfg.rampStart + cfg.rampStep) * cfg.rampHold.Seconds())
	case profileBurst:
		return int(cfg.rate * (cfg.duration.Seconds() + (cfg.burstFactor-1)*cfg.burstFor.Seconds()))
	}
	return int(cfg.rate * cfg.duration.Seconds())
}

// averageRate is the ticks per second the profile sends on average: over
// the whole run with its burst, or on a ramp's first step.
func averageRate(cfg config) float64 {
	if cfg.profile == profileRamp || cfg.duration <= 0 {
		return nominalRate(cfg)
	}
	return float64(plannedTicks(cfg)) / cfg.duration.Seconds()
}

// plan is a client before it connects: what it watches and how it behaves.
type plan struct {
	n       int
	class   account.Class
	profile int
	watch   []int // indexes into market.underlyings
	filter  watch.Filter
}

// planClients gives each client its watchlist, filter and class. The same
// seed and market give the same clients. Classes are spread evenly over the
// order of connecting, as profiles are.
func planClients(cfg config, m *market) ([]*plan, error) {
	if len(m.underlyings) < cfg.symbols {
		return nil, fmt.Errorf("loadtest: the synthetic market's sample has events of %d underlyings, "+
			"fewer than -symbols %d", len(m.underlyings), cfg.symbols)
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.seed), 0x6c6f6164))
	plans := make([]*plan, cfg.clients)
	for i := range plans {
		list := watch.Watchlist(rng, m.counts, cfg.symbols, cfg.skew)
		symbols := make([]string, len(list))
		for j, u := range list {
			symbols[j] = m.underlyings[u]
		}
		prof := watch.ProfileOf(mix, i)
		plans[i] = &plan{n: i, class: classOf(i, cfg), profile: prof, watch: list,
			filter: mix[prof].Make(symbols)}
	}
	return plans, nil
}

// classOf spreads the classes over clients in their shares and evenly over
// the order of connecting: the fractional parts of i times the plastic
// number's inverse, another low-discrepancy sequence than the profiles',
// fall into the slow share, the resuming share or the rest.
func classOf(i int, cfg config) account.Class {
	at := math.Mod(float64(i)*0.7548776662466927, 1)
	switch {
	case at < cfg.slowShare:
		return account.Slow
	case at < cfg.slowShare+cfg.resumeShare:
		return account.Resumer
	}
	return account.Steady
}

// deliveriesPerTick estimates how many deliveries one tick makes for the
// planned clients.
func deliveriesPerTick(m *market, plans []*plan) float64 {
	total := 0
	for _, p := range plans {
		for _, u := range p.watch {
			total += m.passes[u][p.profile]
		}
	}
	return float64(total) / float64(m.ticks)
}

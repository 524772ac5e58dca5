package main

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/tick"
)

// poisoned is what injectPoison produced.
type poisoned struct {
	n   int
	err error
}

// injectPoison produces records the scorers must refuse straight to the
// ticks topic, one of each kind at a random moment of the window, keyed by
// tape underlyings so they sit among good ticks: bytes that are no Avro
// record, a record of another schema, and ticks with impossible values,
// symbols or times.
func injectPoison(ctx context.Context, e *env, tp *tapeFile, seed uint64, start time.Time,
	window time.Duration) poisoned {
	rng := rand.New(rand.NewPCG(seed, 1))
	codec, err := tick.NewCodec()
	if err != nil {
		return poisoned{err: err}
	}
	var unders []string
	for u := range tp.symbol {
		unders = append(unders, u)
	}
	slices.Sort(unders)
	now := time.Now().UnixNano()
	u := unders[rng.IntN(len(unders))]
	encode := func(change func(*tick.Tick)) []byte {
		t := tp.tickOf(u, now-int64(time.Minute))
		change(&t)
		b, _ := codec.Encode(&t)
		return b
	}
	good := encode(func(*tick.Tick) {})
	values := [][]byte{
		[]byte("poison: not an Avro record"),
		nil,
		good[:len(good)-3],
		append(good[:len(good):len(good)], 0),
		append([]byte{0xC3, 0x01, 9, 9, 9, 9, 9, 9, 9, 9}, good[10:]...),
		[]byte(`{"type":"trade","underlying":"SPY"}`),
		encode(func(t *tick.Tick) { t.Price = math.NaN() }),
		encode(func(t *tick.Tick) { t.Price = -2.5 }),
		encode(func(t *tick.Tick) { t.Size = 0 }),
		encode(func(t *tick.Tick) { t.Symbol = strings.Replace(t.Symbol, t.Underlying, "ZZZZ", 1) }),
		encode(func(t *tick.Tick) { t.Symbol = t.Underlying + "XYZ" }),
		encode(func(t *tick.Tick) { t.Symbol = t.Symbol[:6] + "200117" + t.Symbol[12:] }),
		encode(func(t *tick.Tick) { t.TS += int64(2 * time.Hour) }),
		encode(func(t *tick.Tick) { t.TS /= int64(time.Second) }),
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(e.brokers, ",")...),
		kgo.DefaultProduceTopic(e.st.Topic), kgo.ProducerLinger(0))
	if err != nil {
		return poisoned{err: err}
	}
	defer cl.Close()
	for i, v := range values {
		at := time.Duration(rng.Int64N(int64(window)))
		_ = sleep(ctx, time.Until(start.Add(at)))
		r := &kgo.Record{Key: []byte(u), Value: v}
		// Kafka may be down at this moment: the client retries until it
		// is back.
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			return poisoned{n: i, err: err}
		}
	}
	return poisoned{n: len(values)}
}

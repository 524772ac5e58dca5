package tick

import (
	"errors"
	"math"
	"testing"
)

func TestValidate(t *testing.T) {
	const sym = "AAPL  261218C00200000"
	valid := []Tick{
		{Type: Trade, TS: 1, Underlying: "AAPL", Symbol: sym, Price: 2.4, Size: 1},
		{Type: Quote, TS: 1, Underlying: "AAPL", Symbol: sym, Bid: 2.3, Ask: 2.4},
		{Type: Quote, TS: 1, Underlying: "AAPL", Symbol: sym}, // no market is a valid quote
		{Type: Spot, TS: 1, Underlying: "AAPL", Price: 199.5},
		{Type: OpenInterest, TS: 1, Underlying: "AAPL", Symbol: sym, OpenInterest: 0},
	}
	for _, tk := range valid {
		if err := tk.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", tk, err)
		}
	}

	invalid := map[string]Tick{
		"no ts":         {Type: Spot, Underlying: "AAPL", Price: 1},
		"no underlying": {Type: Spot, TS: 1, Price: 1},
		"unknown type":  {Type: "bar", TS: 1, Underlying: "AAPL"},
		"bad symbol":    {Type: Trade, TS: 1, Underlying: "AAPL", Symbol: "AAPL", Price: 1, Size: 1},
		"other root":    {Type: Trade, TS: 1, Underlying: "MSFT", Symbol: sym, Price: 1, Size: 1},
		"zero size":     {Type: Trade, TS: 1, Underlying: "AAPL", Symbol: sym, Price: 1},
		"NaN price":     {Type: Trade, TS: 1, Underlying: "AAPL", Symbol: sym, Price: math.NaN(), Size: 1},
		"crossed quote": {Type: Quote, TS: 1, Underlying: "AAPL", Symbol: sym, Bid: 2.5, Ask: 2.4},
		"negative bid":  {Type: Quote, TS: 1, Underlying: "AAPL", Symbol: sym, Bid: -1, Ask: 2.4},
		"negative oi":   {Type: OpenInterest, TS: 1, Underlying: "AAPL", Symbol: sym, OpenInterest: -1},
		"infinite spot": {Type: Spot, TS: 1, Underlying: "AAPL", Price: math.Inf(1)},
		"negative spot": {Type: Spot, TS: 1, Underlying: "AAPL", Price: -3},
	}
	for name, tk := range invalid {
		if err := tk.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}

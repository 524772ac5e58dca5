package polygon

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/vendortest"
)

// collector is a Handler that keeps copies of what it is given.
type collector struct {
	ticks    []tick.Tick
	seqs     []int64
	statuses []string
	reasons  []string
	errs     []error
}

func (c *collector) Tick(t *tick.Tick, seq int64, _ string) error {
	cp := *t
	cp.Conditions = append([]string{}, t.Conditions...)
	c.ticks = append(c.ticks, cp)
	c.seqs = append(c.seqs, seq)
	return nil
}

func (c *collector) Status(status, message string) error {
	c.statuses = append(c.statuses, status+": "+message)
	return nil
}

func (c *collector) Reject(reason string, err error) {
	c.reasons = append(c.reasons, reason)
	c.errs = append(c.errs, err)
}

func parseAll(tb testing.TB, frames []vendortest.Frame) *collector {
	tb.Helper()
	p := NewParser()
	var c collector
	for _, f := range frames {
		if err := p.Frame(f.Data, &c); err != nil {
			tb.Fatalf("Frame(%s) = %v", f.Data, err)
		}
	}
	return &c
}

// sameTicks compares ticks field by field, ignoring the ingest time.
func sameTicks(tb testing.TB, got, want []tick.Tick) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("got %d ticks, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		g.IngestTS, w.IngestTS = 0, 0
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			tb.Errorf("tick %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestFrameTurnsTheSessionIntoTicks(t *testing.T) {
	c := parseAll(t, vendortest.Frames(t, "session.frames"))
	sameTicks(t, c.ticks, vendortest.Ticks(t, "session.ndjson"))
	if len(c.reasons) != 0 {
		t.Errorf("clean session rejected: %v %v", c.reasons, c.errs)
	}
	// Sequence numbers pass through with their ticks.
	const want = "[1 1 1 2 1 2 3 3 2 2 4 1 1 2 4 5 3 2]"
	if got := fmt.Sprint(c.seqs); got != want {
		t.Errorf("sequence numbers %s, want those of the frames %s", got, want)
	}
	for _, tk := range c.ticks {
		if err := tk.Validate(); err != nil {
			t.Errorf("tick %+v does not validate: %v", tk, err)
		}
	}
}

func TestFrameRejectsGarbageAndKeepsTheRest(t *testing.T) {
	c := parseAll(t, vendortest.Frames(t, "garbage.frames"))
	// The fixture holds the session's messages among garbage; the one
	// well-formed trade with a negative price is the pipeline's to reject.
	var valid []tick.Tick
	for _, tk := range c.ticks {
		if tk.Validate() == nil {
			valid = append(valid, tk)
		}
	}
	sameTicks(t, valid, vendortest.Ticks(t, "garbage.ndjson"))
	if n := len(c.ticks) - len(valid); n != 1 {
		t.Errorf("%d invalid ticks passed on, want the 1 with a negative price", n)
	}
	want := "malformed,malformed,bad_symbol,unknown_type,malformed,malformed,invalid"
	if got := strings.Join(c.reasons, ","); got != want {
		t.Errorf("rejections %s, want %s\n%v", got, want, c.errs)
	}
}

func TestFrameStatusAndLoneMessage(t *testing.T) {
	p := NewParser()
	var c collector
	frames := []string{
		`[{"ev":"status","status":"success","message":"subscribed to: T.*"}]`,
		`{"ev":"T","sym":"O:SPY261218C00600000","x":302,"p":1.5,"s":2,"c":[228,999],"t":1796221800000,"q":7}`,
		` `,
	}
	for _, f := range frames {
		if err := p.Frame([]byte(f), &c); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.statuses) != 1 || c.statuses[0] != "success: subscribed to: T.*" {
		t.Errorf("statuses %v", c.statuses)
	}
	if len(c.ticks) != 1 || strings.Join(c.ticks[0].Conditions, ",") != "SLAI,999" || c.seqs[0] != 7 {
		t.Errorf("lone message gave %+v seq %v, want one trade with SLAI and the unknown id 999", c.ticks, c.seqs)
	}
	if strings.Join(c.reasons, ",") != "malformed" {
		t.Errorf("an empty frame gave rejections %v, want one malformed", c.reasons)
	}
}

// TestFrameDoesNotCarryFieldsOver decodes a frame with every field after
// one without, in the same Parser: nothing of the first may leak into the
// second, although the decoder reuses its message slots.
func TestFrameDoesNotCarryFieldsOver(t *testing.T) {
	p := NewParser()
	var c collector
	full := `[{"ev":"T","sym":"O:SPY261218C00600000","x":302,"p":1.5,"s":2,"c":[219],"t":1796221800000,"q":1},` +
		`{"ev":"T","sym":"O:SPY261218C00600000","x":302,"p":1.5,"s":2,"c":[219],"t":1796221800000,"q":2}]`
	bare := `[{"ev":"T","sym":"O:SPY261218C00600000","t":1796221800001}]`
	for _, f := range []string{full, bare, bare} {
		if err := p.Frame([]byte(f), &c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tk := range c.ticks[2:] {
		if tk.Price != 0 || tk.Size != 0 || len(tk.Conditions) != 0 || tk.Exchange != "0" {
			t.Errorf("bare trade decoded as %+v: fields of an earlier frame leaked in", tk)
		}
	}
	if c.seqs[2] != 0 {
		t.Errorf("bare trade has sequence %d, want 0", c.seqs[2])
	}
}

func TestFrameStopsOnAHandlerError(t *testing.T) {
	p := NewParser()
	boom := errors.New("sink down")
	frame := vendortest.Frames(t, "session.frames")[0].Data
	if err := p.Frame(frame, failing{boom}); !errors.Is(err, boom) {
		t.Errorf("Frame = %v, want the handler's error", err)
	}
}

type failing struct{ err error }

func (f failing) Tick(*tick.Tick, int64, string) error { return f.err }
func (f failing) Status(string, string) error          { return f.err }
func (f failing) Reject(string, error)                 {}

func TestConditionIDsFollowOPRALetters(t *testing.T) {
	// The cancels, late reports and sweeps the scorer acts on, by the ids
	// the vendor documents for them.
	want := map[int]string{201: "CANC", 202: "OSEQ", 203: "CNCL", 204: "LATE", 205: "CNCO", 206: "OPEN",
		207: "CNOL", 208: "OPNL", 219: "ISOI", 227: "SLAN", 228: "SLAI", 229: "SLCN", 230: "SLCI",
		231: "SLFT", 232: "MLET", 245: "TFSL", 246: "CBMO", 247: "MCTP", 248: "EXHT"}
	for id, name := range want {
		if got, ok := ConditionName(id); !ok || got != name {
			t.Errorf("ConditionName(%d) = %q, %v; want %q", id, got, ok, name)
		}
	}
	// 227 to 248 are 'a' to 'v' without a hole.
	for id := 227; id <= 248; id++ {
		if _, ok := ConditionName(id); !ok {
			t.Errorf("condition %d (%c) has no name", id, 'a'+rune(id-227))
		}
	}
	if got, ok := ConditionName(7); ok || got != "7" {
		t.Errorf("ConditionName(7) = %q, %v; want the id kept as 7", got, ok)
	}
}

func FuzzFrame(f *testing.F) {
	for _, name := range []string{"session.frames", "garbage.frames"} {
		for _, fr := range vendortest.Frames(f, name) {
			f.Add(fr.Data)
		}
	}
	f.Add([]byte(`{"ev":"Q","sym":"O:SPY261218C00600000","t":99999999999999}`))
	p := NewParser()
	f.Fuzz(func(t *testing.T, b []byte) {
		var c collector
		if err := p.Frame(b, &c); err != nil {
			t.Fatalf("Frame returned %v without a handler error", err)
		}
		for _, tk := range c.ticks {
			if tk.Symbol == "" || tk.Underlying == "" || tk.TS <= 0 {
				t.Fatalf("tick without symbol or time passed on: %+v", tk)
			}
		}
		for i, err := range c.errs {
			if err == nil || c.reasons[i] == "" {
				t.Fatalf("rejection %d without a reason or error", i)
			}
		}
	})
}

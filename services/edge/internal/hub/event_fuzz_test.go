package hub

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary stream entries to decode, as a damaged or
// foreign entry in a shard stream would arrive: it must refuse the entry or
// build a message that is one JSON object carrying the entry's id, since a
// message that is not would spoil the whole events frame it is batched in.
func FuzzDecode(f *testing.F) {
	f.Add("1796308200031-0", "AAPL", `{"key":"3.1.0","kind":"sweep","premium":120000,"flags":["golden"]}`)
	f.Add("1-0", "SPY", `{}`)
	f.Add("1-0", "SPY", `{ }`)
	f.Add("1-0", "SPY", "{\n}")
	f.Add("1-0", "SPY", `{"a":1} `)
	f.Fuzz(func(t *testing.T, entry, underlying, stored string) {
		ev, err := decode(3, entry, underlying, stored)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ev.Msg, &m); err != nil {
			t.Fatalf("entry %q decoded to a message that is not a JSON object: %q: %v", stored, ev.Msg, err)
		}
		var id string
		if err := json.Unmarshal(m["id"], &id); err != nil || !strings.HasPrefix(id, "3-") {
			t.Fatalf("message %q carries id %q, want 3-%s", ev.Msg, m["id"], entry)
		}
	})
}

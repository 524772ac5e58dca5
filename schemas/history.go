package schemas

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Names of the schemas, as used in History: the file name without ".avsc".
const (
	TickName      = "tick"
	FlowEventName = "flow_event"
)

// Current maps each schema's name to its current text.
var Current = map[string]string{TickName: Tick, FlowEventName: FlowEvent}

// History holds every released version of each schema as
// history/<name>/v<N>.avsc. A change to a schema must be backward compatible
// with the newest version here (readers with the new schema can read every
// record already written); releasing it adds the next version.
//
//go:embed history
var History embed.FS

// Version is one released version of a schema.
type Version struct {
	N    int
	Text string
}

// Versions returns the released versions of the named schema, oldest first.
func Versions(name string) ([]Version, error) {
	dir := path.Join("history", name)
	entries, err := fs.ReadDir(History, dir)
	if err != nil {
		return nil, fmt.Errorf("schemas: no history for %q: %w", name, err)
	}
	var out []Version
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".avsc")
		n, err := strconv.Atoi(strings.TrimPrefix(base, "v"))
		if !ok || !strings.HasPrefix(base, "v") || err != nil {
			return nil, fmt.Errorf("schemas: %s/%s is not named v<N>.avsc", dir, e.Name())
		}
		b, err := fs.ReadFile(History, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Version{N: n, Text: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N < out[j].N })
	return out, nil
}

package schemas

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// TestSchemasEvolveBackwardCompatibly enforces the evolution rule: each
// released version can read every earlier one, and the current schema can
// read the newest released one, so a consumer upgraded first still decodes
// what older producers wrote.
func TestSchemasEvolveBackwardCompatibly(t *testing.T) {
	for name, current := range Current {
		t.Run(name, func(t *testing.T) {
			versions, err := Versions(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(versions) == 0 {
				t.Fatal("no released version")
			}
			for i, v := range versions {
				if v.N != i+1 {
					t.Fatalf("versions are numbered %d at place %d; want 1, 2, ... without gaps", v.N, i+1)
				}
			}
			chain := append(versions, Version{N: len(versions) + 1, Text: current})
			for i := 1; i < len(chain); i++ {
				if err := compatible(chain[i].Text, chain[i-1].Text); err != nil {
					what := "the current schema"
					if i < len(versions) {
						what = fmt.Sprintf("version %d", chain[i].N)
					}
					t.Errorf("%s cannot read records of version %d: %v", what, chain[i-1].N, err)
				}
			}
		})
	}
}

// TestCompatibilityCheckCatchesBreakingChanges proves the check above is not
// vacuous: the changes that break old records are refused, the safe ones
// pass.
func TestCompatibilityCheckCatchesBreakingChanges(t *testing.T) {
	lastField := `{"name": "reasons", "type": {"type": "array", "items": "string"}, "doc": "One readable sentence per part that scored."}`
	if !strings.Contains(FlowEvent, lastField) {
		t.Fatal("flow_event.avsc changed its last field; update this test")
	}
	cases := []struct {
		name   string
		edit   string
		breaks bool
	}{
		{"field added without default", lastField + `, {"name": "venue", "type": "string"}`, true},
		{"field added with default", lastField + `, {"name": "venue", "type": "string", "default": ""}`, false},
		{"field type changed", strings.Replace(lastField, `"items": "string"`, `"items": "int"`, 1), true},
	}
	for _, c := range cases {
		changed := strings.Replace(FlowEvent, lastField, c.edit, 1)
		err := compatible(changed, FlowEvent)
		if c.breaks && err == nil {
			t.Errorf("%s: accepted as backward compatible", c.name)
		}
		if !c.breaks && err != nil {
			t.Errorf("%s: refused: %v", c.name, err)
		}
	}
}

// compatible reports whether data written with writer can be read with
// reader.
func compatible(reader, writer string) error {
	r, err := avro.ParseWithCache(reader, "", &avro.SchemaCache{})
	if err != nil {
		return err
	}
	w, err := avro.ParseWithCache(writer, "", &avro.SchemaCache{})
	if err != nil {
		return err
	}
	return avro.NewSchemaCompatibility().Compatible(r, w)
}

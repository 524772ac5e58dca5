// Package avrocheck holds test helpers that keep Go types in step with the Avro
// schemas in the schemas directory.
package avrocheck

import (
	"reflect"
	"slices"
	"testing"

	"github.com/hamba/avro/v2"
)

// SameFields fails the test unless the record schema and the struct behind v
// name the same fields, in the same order, through the struct's avro tags.
// It catches a schema edited without the code, and the reverse, even where the
// codec would quietly fill a missing field from its default.
func SameFields(t testing.TB, schemaText string, v any) {
	t.Helper()

	schema, err := avro.Parse(schemaText)
	if err != nil {
		t.Fatalf("parse schema: %v", err)
	}
	record, ok := schema.(*avro.RecordSchema)
	if !ok {
		t.Fatalf("schema is a %s, not a record", schema.Type())
	}
	var inSchema []string
	for _, f := range record.Fields() {
		inSchema = append(inSchema, f.Name())
	}

	var inStruct []string
	typ := reflect.TypeOf(v)
	for i := 0; i < typ.NumField(); i++ {
		if tag := typ.Field(i).Tag.Get("avro"); tag != "" && tag != "-" {
			inStruct = append(inStruct, tag)
		}
	}
	if !slices.Equal(inSchema, inStruct) {
		t.Errorf("schema %s fields\n  %v\ndiffer from %s avro tags\n  %v", record.FullName(), inSchema, typ, inStruct)
	}
}

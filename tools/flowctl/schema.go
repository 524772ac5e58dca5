package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/pkg/topics"
	"github.com/liveflow/liveflow/schemas"
)

// runSchema runs "schema print" or "schema check".
func runSchema(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("want a subcommand: print or check")
	}
	switch args[0] {
	case "print":
		return schemaPrint(e, args[1:])
	case "check":
		return schemaCheck(ctx, e, args[1:])
	}
	return usagef("unknown subcommand %q: want print or check", args[0])
}

func schemaPrint(e env, args []string) error {
	fs := newFlags(e, "schema print", "[flags] [flow_event|tick]")
	canonical := fs.Bool("canonical", false, "print the Parsing Canonical Form, the text the fingerprint is taken of")
	fingerprint := fs.Bool("fingerprint", false, "print only the CRC-64-AVRO fingerprint that single-object records carry, in hex")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	name := schemas.FlowEventName
	switch fs.NArg() {
	case 0:
	case 1:
		name = fs.Arg(0)
	default:
		return usagef("want at most one schema name, got %d", fs.NArg())
	}
	text, ok := schemas.Current[name]
	if !ok {
		return usagef("unknown schema %q: want %s", name, strings.Join(schemaNames(), " or "))
	}
	s, err := parseAlone(text)
	if err != nil {
		return err
	}
	switch {
	case *fingerprint:
		fp, err := s.FingerprintUsing(avro.CRC64Avro)
		if err != nil {
			return err
		}
		// The header stores the fingerprint little-endian; print it as
		// the bytes appear in a record.
		for i, j := 0, len(fp)-1; i < j; i, j = i+1, j-1 {
			fp[i], fp[j] = fp[j], fp[i]
		}
		_, err = fmt.Fprintln(e.stdout, hex.EncodeToString(fp))
		return err
	case *canonical:
		_, err = fmt.Fprintln(e.stdout, s.String())
		return err
	}
	_, err = fmt.Fprint(e.stdout, text)
	return err
}

func schemaNames() []string {
	var names []string
	for n := range schemas.Current {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parseAlone parses a schema in a cache of its own, so two versions of one
// named schema can be held side by side.
func parseAlone(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// schemaCheck checks schema files (or, without any, the schemas this
// flowctl was built with) for backward compatibility: each must read records
// of every released version and of the current schema, and, with a registry,
// of the newest version registered for its topic.
func schemaCheck(ctx context.Context, e env, args []string) error {
	var conn connection
	fs := newFlags(e, "schema check", "[flags] [FILE.avsc...]")
	conn.register(fs, e, true)
	ticks := fs.String("ticks-topic", topics.Ticks, "with a registry: the topic whose subject holds tick.avsc")
	flows := fs.String("flow-topic", topics.Flow, "with a registry: the topic whose subject holds flow_event.avsc")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := conn.check(); err != nil {
		return err
	}
	reg, err := conn.registryClient()
	if err != nil {
		return err
	}
	subjects := map[string]string{schemas.TickName: record.Subject(*ticks), schemas.FlowEventName: record.Subject(*flows)}

	type candidate struct {
		label, name, text string
		file              bool
	}
	var cands []candidate
	if fs.NArg() == 0 {
		for _, n := range schemaNames() {
			cands = append(cands, candidate{n + " (built in)", n, schemas.Current[n], false})
		}
	}
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name, err := schemaName(string(b))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		cands = append(cands, candidate{path, name, string(b), true})
	}

	failed := 0
	for _, c := range cands {
		writers, err := writersOf(ctx, c.name, c.file, reg, subjects[c.name])
		if err != nil {
			return err
		}
		for _, w := range writers {
			if err := compatible(c.text, w.text); err != nil {
				failed++
				fmt.Fprintf(e.stdout, "%s: cannot read records written with %s: %v\n", c.label, w.label, err)
				continue
			}
			fmt.Fprintf(e.stdout, "%s: reads records written with %s\n", c.label, w.label)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d incompatibilities: a schema may only change in ways that read every earlier record "+
			"(add fields with defaults; do not remove or retype fields)", failed)
	}
	return nil
}

type writer struct{ label, text string }

// writersOf returns every schema whose records a new version of name must
// read: the released versions, the built-in one (for a file) and the
// registry's newest.
func writersOf(ctx context.Context, name string, file bool, reg *record.Registry, subject string) ([]writer, error) {
	versions, err := schemas.Versions(name)
	if err != nil {
		return nil, err
	}
	var out []writer
	for _, v := range versions {
		out = append(out, writer{fmt.Sprintf("%s v%d", name, v.N), v.Text})
	}
	if file {
		out = append(out, writer{name + " (built in)", schemas.Current[name]})
	}
	if reg != nil {
		text, version, err := reg.Latest(ctx, subject)
		if err != nil {
			return nil, err
		}
		out = append(out, writer{fmt.Sprintf("registry %s version %d", subject, version), text})
	}
	return out, nil
}

// schemaName tells which of liveflow's schemas a text is a version of, by
// its full record name.
func schemaName(text string) (string, error) {
	s, err := parseAlone(text)
	if err != nil {
		return "", fmt.Errorf("not an Avro schema: %w", err)
	}
	named, ok := s.(avro.NamedSchema)
	if ok {
		for name, cur := range schemas.Current {
			if c, err := parseAlone(cur); err == nil && c.(avro.NamedSchema).FullName() == named.FullName() {
				return name, nil
			}
		}
	}
	return "", fmt.Errorf("not a version of %s (their records are dev.liveflow.FlowEvent and dev.liveflow.Tick)",
		strings.Join(schemaNames(), " or "))
}

// compatible reports whether records written with writer can be read with
// reader.
func compatible(reader, writer string) error {
	r, err := parseAlone(reader)
	if err != nil {
		return err
	}
	w, err := parseAlone(writer)
	if err != nil {
		return err
	}
	return avro.NewSchemaCompatibility().Compatible(r, w)
}

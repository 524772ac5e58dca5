// Package record encodes Go values as Avro single-object records: the two magic
// bytes C3 01, the 8-byte CRC-64-AVRO fingerprint of the writer's schema, then
// the Avro binary body. A reader holding the schema files needs no registry to
// recognise and decode such a record.
package record

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/soe"
)

// ErrSchema is wrapped by Decode errors about a record written with another
// schema, as opposed to a damaged record.
var ErrSchema = errors.New("record written with another schema")

// Codec encodes and decodes values of type T with one schema.
// A Codec is safe for concurrent use.
type Codec[T any] struct {
	schema avro.Schema
	header []byte
	name   string
	pool   sync.Pool // of *avro.Reader
}

// NewCodec parses the schema text and prepares a codec for it.
func NewCodec[T any](schemaText string) (*Codec[T], error) {
	schema, err := avro.Parse(schemaText)
	if err != nil {
		return nil, fmt.Errorf("record: parse schema: %w", err)
	}
	header, err := soe.BuildHeader(schema)
	if err != nil {
		return nil, fmt.Errorf("record: fingerprint schema: %w", err)
	}
	name := string(schema.Type())
	if n, ok := schema.(avro.NamedSchema); ok {
		name = n.FullName()
	}
	c := &Codec[T]{schema: schema, header: header, name: name}
	c.pool.New = func() any { return avro.NewReader(nil, 0) }
	return c, nil
}

// Schema returns the parsed schema.
func (c *Codec[T]) Schema() avro.Schema { return c.schema }

// Fingerprint returns the 8-byte CRC-64-AVRO fingerprint in the record header.
func (c *Codec[T]) Fingerprint() []byte { return bytes.Clone(c.header[2:]) }

// Encode returns the single-object encoding of v.
func (c *Codec[T]) Encode(v *T) ([]byte, error) {
	body, err := avro.Marshal(c.schema, v)
	if err != nil {
		return nil, fmt.Errorf("record: encode %s: %w", c.name, err)
	}
	out := make([]byte, 0, len(c.header)+len(body))
	return append(append(out, c.header...), body...), nil
}

// Decode fills v from b. It rejects a record whose header names another
// schema, a truncated body and trailing bytes, so a damaged record is an error
// rather than a value with silently zeroed fields.
func (c *Codec[T]) Decode(b []byte, v *T) error {
	if len(b) < len(c.header) || !bytes.Equal(b[:2], c.header[:2]) {
		return fmt.Errorf("record: decode %s: not a single-object Avro record", c.name)
	}
	if !bytes.Equal(b[2:len(c.header)], c.header[2:]) {
		return fmt.Errorf("record: decode %s: %w (fingerprint %x, want %x)",
			c.name, ErrSchema, b[2:len(c.header)], c.header[2:])
	}

	r := c.pool.Get().(*avro.Reader)
	defer c.pool.Put(r)
	r.Reset(b[len(c.header):])
	r.Error = nil

	var zero T
	*v = zero
	r.ReadVal(c.schema, v)
	if errors.Is(r.Error, io.EOF) || errors.Is(r.Error, io.ErrUnexpectedEOF) {
		return fmt.Errorf("record: decode %s: truncated record", c.name)
	}
	if r.Error != nil {
		return fmt.Errorf("record: decode %s: %w", c.name, r.Error)
	}
	// Peek sets io.EOF when the body was consumed exactly.
	r.Peek()
	if r.Error == nil {
		return fmt.Errorf("record: decode %s: trailing bytes after the record", c.name)
	}
	return nil
}

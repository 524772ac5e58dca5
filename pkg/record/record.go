// Package record encodes Go values as Avro single-object records: the two magic
// bytes C3 01, the 8-byte CRC-64-AVRO fingerprint of the writer's schema, then
// the Avro binary body. A reader holding the schema files needs no registry to
// recognise and decode such a record.
//
// A codec can instead frame records for a Confluent-compatible schema
// registry (UseRegistry): the byte 0, the schema's 4-byte registry id, then
// the same body.
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

// maxElements bounds the elements of one array a decoded record may hold,
// far above what a tick's conditions or an event's fills ever number.
const maxElements = 1 << 16

// decodeConfig bounds what a damaged record can make the decoder allocate:
// a block count read from garbage would otherwise size an array of
// billions of elements, and one poison record would exhaust the memory of
// every scorer that reads it.
var decodeConfig = avro.Config{MaxByteSliceSize: 1 << 20, MaxSliceAllocSize: maxElements}.Freeze()

// Codec encodes and decodes values of type T with one schema.
// A Codec is safe for concurrent use.
type Codec[T any] struct {
	schema   avro.Schema
	text     string
	header   []byte
	registry []byte // the registry header, when the codec frames for a registry
	name     string
	pool     sync.Pool // of *avro.Reader
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
	c := &Codec[T]{schema: schema, text: schemaText, header: header, name: name}
	c.pool.New = func() any { return avro.NewReader(nil, 0, avro.WithReaderConfig(decodeConfig)) }
	return c, nil
}

// Schema returns the parsed schema.
func (c *Codec[T]) Schema() avro.Schema { return c.schema }

// Fingerprint returns the 8-byte CRC-64-AVRO fingerprint in the record header.
func (c *Codec[T]) Fingerprint() []byte { return bytes.Clone(c.header[2:]) }

// Text returns the schema text the codec was made from.
func (c *Codec[T]) Text() string { return c.text }

// Encode returns the single-object encoding of v, or its registry framing
// when the codec uses a registry.
func (c *Codec[T]) Encode(v *T) ([]byte, error) {
	body, err := avro.Marshal(c.schema, v)
	if err != nil {
		return nil, fmt.Errorf("record: encode %s: %w", c.name, err)
	}
	header := c.header
	if c.registry != nil {
		header = c.registry
	}
	out := make([]byte, 0, len(header)+len(body))
	return append(append(out, header...), body...), nil
}

// Decode fills v from b. It rejects a record whose header names another
// schema, a truncated body and trailing bytes, so a damaged record is an error
// rather than a value with silently zeroed fields.
//
// A registry-framed record is accepted when the codec uses a registry and
// the record carries the codec's schema id; any other id is ErrSchema.
func (c *Codec[T]) Decode(b []byte, v *T) error {
	if id, ok := RegistryIDOf(b); ok {
		want, uses := c.RegistryID()
		switch {
		case !uses:
			return fmt.Errorf("record: decode %s: %w (framed for a schema registry, schema id %d, "+
				"and no registry is configured)", c.name, ErrSchema, id)
		case id != want:
			return fmt.Errorf("record: decode %s: %w (registry schema id %d, want %d)", c.name, ErrSchema, id, want)
		}
		return c.DecodeBody(b[registryHeader:], v)
	}
	if len(b) < len(c.header) || !bytes.Equal(b[:2], c.header[:2]) {
		return fmt.Errorf("record: decode %s: not a single-object Avro record", c.name)
	}
	if !bytes.Equal(b[2:len(c.header)], c.header[2:]) {
		return fmt.Errorf("record: decode %s: %w (fingerprint %x, want %x)",
			c.name, ErrSchema, b[2:len(c.header)], c.header[2:])
	}
	return c.DecodeBody(b[len(c.header):], v)
}

// DecodeBody fills v from an Avro binary body without any header, written
// with the codec's schema. It rejects a truncated body and trailing bytes.
func (c *Codec[T]) DecodeBody(body []byte, v *T) error {
	r := c.pool.Get().(*avro.Reader)
	defer c.pool.Put(r)
	r.Reset(body)
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

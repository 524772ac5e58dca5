package tick

import (
	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/schemas"
)

// Codec encodes ticks as single-object Avro records with the schema in
// schemas/tick.avsc. A Codec is safe for concurrent use.
type Codec = record.Codec[Tick]

// NewCodec returns a Codec for the tick schema.
func NewCodec() (*Codec, error) {
	return record.NewCodec[Tick](schemas.Tick)
}

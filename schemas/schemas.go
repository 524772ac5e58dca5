// Package schemas holds the Avro schemas of the records liveflow writes to Kafka.
//
// The .avsc files in this directory are the source of truth: Go code parses them
// at start-up instead of keeping its own copy, and tests check that the Go types
// match them field for field.
package schemas

import _ "embed"

// Tick is the schema of records on the options.ticks topic.
//
//go:embed tick.avsc
var Tick string

// FlowEvent is the schema of a scored flow event.
//
//go:embed flow_event.avsc
var FlowEvent string

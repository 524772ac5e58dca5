// Package edge serves the WebSocket protocol: clients subscribe to
// underlyings and receive scored events as JSON text frames.
//
// Client to server:
//
//	{"op":"subscribe","id":"s1","filter":{"symbols":["AAPL","TSLA"],"kinds":["sweep"],"min_premium":100000}}
//	{"op":"unsubscribe","id":"s1"}
//	{"op":"ping"}
//
// Server to client:
//
//	{"op":"subscribed","id":"s1","symbols":["AAPL","TSLA"]}
//	{"op":"unsubscribed","id":"s1"}
//	{"op":"pong"}
//	{"op":"error","code":"bad_filter","message":"...","id":"s1"}
//	{"op":"events","events":[{...},{...}]}
//	{"op":"lagged","dropped":212,"first":"3-1796308200031-0","last":"3-1796308200410-4"}
//	{"op":"status","feed":"degraded","message":"..."}
//
// An error reply leaves the connection open; only the close codes below end it.
package edge

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// Error codes of {"op":"error"} replies.
const (
	CodeBadJSON     = "bad_json"     // the frame is not a JSON object of the protocol's shape
	CodeUnknownOp   = "unknown_op"   // op is missing or not one of the ops above
	CodeBadRequest  = "bad_request"  // a required field is missing
	CodeBadFilter   = "bad_filter"   // the filter names no symbol or an invalid one
	CodeDuplicateID = "duplicate_id" // a subscription with this id exists on the connection
	CodeUnknownID   = "unknown_id"   // no subscription with this id exists
	CodeForbidden   = "forbidden"    // the client's credential does not entitle it to what it asked
	CodeUnavailable = "unavailable"  // the node could not start reading the needed streams in time
)

// Close codes. Those of 4000 and up are in the range RFC 6455 leaves to
// applications; the close reason says more, in words.
const (
	CloseSlowConsumer         = websocket.StatusCode(4001) // the client stayed behind for too long
	CloseNotText              = websocket.StatusCode(4002) // a binary frame arrived
	CloseUnauthorized         = websocket.StatusCode(4003) // no valid credential, or it expired
	CloseTooManyConnections   = websocket.StatusCode(4004) // the user holds as many connections as allowed
	CloseTooManySubscriptions = websocket.StatusCode(4005) // one subscription more than allowed
	CloseRateLimited          = websocket.StatusCode(4006) // requests came faster than allowed
	// CloseBadUTF8 closes a client that sent a text frame that is not UTF-8
	// (RFC 6455's Invalid Frame Payload Data).
	CloseBadUTF8 = websocket.StatusInvalidFramePayloadData
	// CloseTooBig is sent by the WebSocket library for a client frame over
	// the size limit.
	CloseTooBig = websocket.StatusMessageTooBig
	// CloseNoPong closes a peer that did not answer a ping in time.
	CloseNoPong = websocket.StatusPolicyViolation
	// CloseShutdown means the node is restarting or draining: reconnect,
	// after a short random delay, and resume (RFC 6455's Service Restart).
	CloseShutdown = websocket.StatusServiceRestart
)

type request struct {
	Op       string         `json:"op"`
	ID       string         `json:"id"`
	Filter   *filter.Filter `json:"filter"`
	Snapshot int            `json:"snapshot"` // latest matching events to send with "subscribed"
	// ResumeFrom is the id of the last event the client saw, or a list of
	// them, ideally the last of each shard.
	ResumeFrom json.RawMessage `json:"resume_from"`
}

// maxResume bounds the entries read per shard on resume, as many as a shard
// stream keeps by default (the scorer's -stream-maxlen); a client that
// missed more gets a fresh snapshot instead. Entries of names the
// subscription does not watch are skipped undecoded, so the cost of a long
// resume is mostly Redis sending the entries.
const maxResume = 100_000

// maxSnapshot bounds the events a subscribe may ask for.
const maxSnapshot = 1000

type reply struct {
	Op       string            `json:"op"`
	ID       string            `json:"id,omitempty"`
	Code     string            `json:"code,omitempty"`
	Message  string            `json:"message,omitempty"`
	Symbols  []string          `json:"symbols,omitempty"`
	Snapshot []json.RawMessage `json:"snapshot,omitempty"`
	Resume   string            `json:"resume,omitempty"` // "complete" or "gap"
	Missed   []json.RawMessage `json:"missed,omitempty"`
	// With "subscribed": per shard the subscription reads, the id of the
	// last entry before live delivery began. A client that keeps these and
	// then the id of each event it receives can resume from every shard,
	// even one it has not had an event from yet.
	Positions []string `json:"positions,omitempty"`

	Feed string `json:"feed,omitempty"` // with "status": "ok" or "degraded"

	// A lagged notice: how many events were dropped, and the ids of the
	// first and last of them.
	Dropped int    `json:"dropped,omitempty"`
	First   string `json:"first,omitempty"`
	Last    string `json:"last,omitempty"`

	close websocket.StatusCode // for opClose
}

// opClose is not sent: a request handler returns it to have the connection
// closed with the reply's close code and message as the reason.
const opClose = "close"

func errorReply(id, code, format string, args ...any) reply {
	return reply{Op: "error", ID: id, Code: code, Message: fmt.Sprintf(format, args...)}
}

func closeReply(code websocket.StatusCode, reason string) reply {
	return reply{Op: opClose, close: code, Message: reason}
}

func laggedReply(s shedding) reply {
	return reply{
		Op: "lagged", Dropped: s.dropped, First: s.first, Last: s.last,
		Message: "you fell behind; the oldest waiting events were dropped",
	}
}

func (r reply) encode() []byte {
	b, _ := json.Marshal(r) // a reply of strings always encodes
	return b
}

// parseResume reads resume_from, a string or a list of event ids
// "<shard>-<ms>-<seq>", into the entry id per shard (the newest per shard
// when one is given twice).
func parseResume(raw json.RawMessage, shards int) (map[int]string, error) {
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("resume_from: want an event id or a list of them")
		}
		ids = []string{one}
	}
	out := map[int]string{}
	for _, id := range ids {
		shardText, entry, ok := strings.Cut(id, "-")
		shard, err := strconv.Atoi(shardText)
		ms, seq, ok2 := strings.Cut(entry, "-")
		_, err2 := strconv.ParseUint(ms, 10, 64)
		_, err3 := strconv.ParseUint(seq, 10, 64)
		if !ok || !ok2 || err != nil || err2 != nil || err3 != nil || shard < 0 || shard >= shards {
			return nil, fmt.Errorf("resume_from: %q is not an event id of this feed", id)
		}
		if prev, seen := out[shard]; !seen || hub.CompareIDs(entry, prev) > 0 {
			out[shard] = entry
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resume_from: no event id")
	}
	return out, nil
}

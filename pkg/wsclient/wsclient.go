// Package wsclient is a small Go client of the edge's WebSocket protocol, for
// tests, the load tester and anyone scripting against an edge.
package wsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// Message is any frame the server sends. Op tells which fields are set.
type Message struct {
	Op       string            `json:"op"`
	ID       string            `json:"id,omitempty"`
	Code     string            `json:"code,omitempty"`
	Message  string            `json:"message,omitempty"`
	Symbols  []string          `json:"symbols,omitempty"`
	Events   []json.RawMessage `json:"events,omitempty"`
	Snapshot []json.RawMessage `json:"snapshot,omitempty"` // with "subscribed", when asked for
	Resume   string            `json:"resume,omitempty"`   // "complete" or "gap", after resume_from
	Missed   []json.RawMessage `json:"missed,omitempty"`   // events missed since resume_from
	// With "subscribed": per shard, the id of the last entry before live
	// delivery began; a resume from these misses nothing.
	Positions []string `json:"positions,omitempty"`

	Feed string `json:"feed,omitempty"` // with "status": "ok" or "degraded"

	// With "lagged": the client fell behind and this many of its oldest
	// waiting events, from id First to id Last, were dropped.
	Dropped int    `json:"dropped,omitempty"`
	First   string `json:"first,omitempty"`
	Last    string `json:"last,omitempty"`
}

// Client is one connection. Read from one goroutine; Send is safe to call
// concurrently with Read.
type Client struct {
	conn *websocket.Conn
}

// Dial connects to an edge's /ws URL, e.g. ws://localhost:8080/ws.
func Dial(ctx context.Context, url string) (*Client, error) {
	return DialToken(ctx, url, "")
}

// DialToken connects with a credential, a JWT or an API key, sent as a
// bearer token; an empty token sends none.
func DialToken(ctx context.Context, url, token string) (*Client, error) {
	var opts *websocket.DialOptions
	if token != "" {
		opts = &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}}
	}
	conn, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("wsclient: dial %s: %w", url, err)
	}
	return New(conn), nil
}

// New wraps a connection dialled elsewhere, e.g. with special socket
// options.
func New(conn *websocket.Conn) *Client {
	conn.SetReadLimit(16 << 20)
	return &Client{conn: conn}
}

// Conn exposes the underlying connection, e.g. to send malformed frames.
func (c *Client) Conn() *websocket.Conn { return c.conn }

// Send writes one request, encoded as JSON.
func (c *Client) Send(ctx context.Context, req any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("wsclient: encode request: %w", err)
	}
	return c.conn.Write(ctx, websocket.MessageText, b)
}

// Read returns the next frame from the server.
func (c *Client) Read(ctx context.Context) (Message, error) {
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return Message{}, err
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("wsclient: undecodable frame %.200q: %w", b, err)
	}
	return m, nil
}

// Subscribe asks for the events of symbols under id and waits for the
// answer. Events read while waiting are handed to onEvents, which may be nil.
// An error reply is returned as an error naming its code.
func (c *Client) Subscribe(ctx context.Context, id string, symbols []string,
	onEvents func([]json.RawMessage)) error {
	req := map[string]any{"op": "subscribe", "id": id, "filter": map[string]any{"symbols": symbols}}
	if err := c.Send(ctx, req); err != nil {
		return err
	}
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return err
		}
		switch {
		case m.Op == "events" && onEvents != nil:
			onEvents(m.Events)
		case m.Op == "subscribed" && m.ID == id:
			return nil
		case m.Op == "error" && m.ID == id:
			return fmt.Errorf("wsclient: subscribe %q: %s: %s", id, m.Code, m.Message)
		}
	}
}

// Close closes the connection normally.
func (c *Client) Close() error {
	return c.conn.Close(websocket.StatusNormalClosure, "")
}

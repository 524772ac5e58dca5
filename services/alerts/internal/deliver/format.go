package deliver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
)

// Alert is one event to deliver for one rule. It is immutable once
// submitted.
type Alert struct {
	RuleID   string
	RuleName string
	EventID  string      // "<shard>-<stream entry id>", as WebSocket clients see it
	Event    *flow.Event // decoded, for the chat formats
	JSON     []byte      // the event as WebSocket clients receive it, with its "id"
	Dest     Destination
	Written  time.Time // when the event entered its stream (its entry id's time)
}

// IdempotencyKey returns "<rule id>:<event id>": one per rule and event,
// the same on every retry and from every alerts instance.
func (a *Alert) IdempotencyKey() string { return a.RuleID + ":" + a.EventID }

// body renders the request body of the alert's destination type. It is the
// same on every attempt, so a receiver may compare retries byte for byte.
func (a *Alert) body() ([]byte, error) {
	switch a.Dest.Type {
	case Slack:
		return json.Marshal(a.slack())
	case Discord:
		return json.Marshal(a.discord())
	}
	return json.Marshal(webhookBody{
		IdempotencyKey: a.IdempotencyKey(),
		Rule:           ruleRef{ID: a.RuleID, Name: a.RuleName},
		Event:          json.RawMessage(a.JSON),
	})
}

// webhookBody is what a generic webhook receives.
type webhookBody struct {
	IdempotencyKey string          `json:"idempotency_key"`
	Rule           ruleRef         `json:"rule"`
	Event          json.RawMessage `json:"event"`
}

type ruleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// slackMessage is a Slack incoming-webhook message: a plain-text fallback
// for notifications and Block Kit blocks for the channel.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (a *Alert) slack() slackMessage {
	head, detail := summary(a.Event)
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return slackMessage{
		Text: head,
		Blocks: []slackBlock{
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: "*" + esc.Replace(head) + "*\n" + esc.Replace(detail)}},
			{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: esc.Replace(a.footer())}}},
		},
	}
}

// discordMessage is a Discord webhook message with one embed. Mentions are
// turned off, so no text of an alert can ping a channel.
type discordMessage struct {
	Embeds          []discordEmbed  `json:"embeds"`
	AllowedMentions discordMentions `json:"allowed_mentions"`
}

type discordEmbed struct {
	Title       string        `json:"title"`
	Description string        `json:"description"`
	Color       int           `json:"color"`
	Footer      discordFooter `json:"footer"`
	Timestamp   string        `json:"timestamp"`
}

type discordFooter struct {
	Text string `json:"text"`
}

type discordMentions struct {
	Parse []string `json:"parse"`
}

// Embed colours by sentiment.
const (
	colorBullish = 0x2e9e5b
	colorBearish = 0xd1453b
	colorNeutral = 0x808080
)

func (a *Alert) discord() discordMessage {
	head, detail := summary(a.Event)
	color := colorNeutral
	switch a.Event.Sentiment {
	case flow.Bullish:
		color = colorBullish
	case flow.Bearish:
		color = colorBearish
	}
	return discordMessage{
		Embeds: []discordEmbed{{
			Title: clip(head, 256), Description: clip(detail, 4096), Color: color,
			Footer:    discordFooter{Text: clip(a.footer(), 2048)},
			Timestamp: time.Unix(0, a.Event.TS).UTC().Format(time.RFC3339Nano),
		}},
		AllowedMentions: discordMentions{Parse: []string{}},
	}
}

func (a *Alert) footer() string {
	name := a.RuleName
	if name == "" {
		name = a.RuleID
	}
	return "liveflow rule " + clip(name, 200) + " · event " + a.EventID
}

// summary renders an event as a headline and a line of detail, e.g.
// "SPY sweep 650P 2026-12-19: 1,200 at 3.45 ($414K)" and
// "above ask, bearish, score 82 · 7 DTE, 1.2% OTM, 3 exchanges · golden, iso".
func summary(ev *flow.Event) (head, detail string) {
	if ev.Kind == flow.KindCancel {
		return ev.Underlying + " cancel " + contract(ev),
			"retracts " + strings.Join(ev.Cancels, ", ")
	}
	head = fmt.Sprintf("%s %s %s: %s at %s (%s)", ev.Underlying, ev.Kind, contract(ev),
		thousands(ev.Size), strconv.FormatFloat(ev.Price, 'f', -1, 64), money(ev.Premium))
	parts := []string{}
	if s := sideNames[ev.Side]; s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, ev.Sentiment, "score "+strconv.Itoa(int(ev.Score)))
	detail = strings.Join(parts, ", ") + fmt.Sprintf(" · %d DTE, %.1f%% OTM", ev.DTE, ev.OTMPct)
	if ev.Exchanges > 1 {
		detail += fmt.Sprintf(", %d exchanges", ev.Exchanges)
	}
	if len(ev.FlagNames) > 0 {
		detail += " · " + strings.Join(ev.FlagNames, ", ")
	}
	return head, detail
}

var sideNames = map[string]string{
	flow.SideAboveAsk: "above ask", flow.SideAsk: "at ask", flow.SideMid: "mid",
	flow.SideBid: "at bid", flow.SideBelowBid: "below bid",
}

// contract names a contract as traders write it: "650P 2026-12-19".
func contract(ev *flow.Event) string {
	if ev.Expiry == "" {
		return ev.Symbol
	}
	return strconv.FormatFloat(ev.Strike, 'f', -1, 64) + ev.Right + " " + ev.Expiry
}

// money renders USD compactly: $950, $414K, $1.2M.
func money(v float64) string {
	switch {
	case v >= 1e6:
		return "$" + strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case v >= 1e3:
		return "$" + strconv.FormatFloat(v/1e3, 'f', 0, 64) + "K"
	}
	return "$" + strconv.FormatFloat(v, 'f', 0, 64)
}

// thousands renders n with comma separators.
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// clip shortens s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for len(s) > 0 && s[len(s)-1]&0xc0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xc0 {
		s = s[:len(s)-1]
	}
	return s + "…"
}

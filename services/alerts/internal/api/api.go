// Package api serves the alert rules API: authenticated users create, list,
// read, replace and delete their own rules.
//
//	POST   /v1/rules        create a rule; 201 with the rule
//	GET    /v1/rules        the caller's rules, oldest first
//	GET    /v1/rules/{id}   one rule
//	PUT    /v1/rules/{id}   replace a rule's name, filter, destination and paused flag
//	DELETE /v1/rules/{id}   delete a rule; 204
//
// Errors are JSON, {"error":{"code":"bad_filter","message":"..."}}, with the
// codes below. docs/alerts.md describes the API with examples.
package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveflow/liveflow/pkg/auth"
	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
	"github.com/liveflow/liveflow/services/alerts/internal/rules"
)

// Error codes and their HTTP statuses.
const (
	CodeUnauthorized   = "unauthorized"    // 401: no credential, or a refused one
	CodeForbidden      = "forbidden"       // 403: the credential does not entitle the caller to an underlying, or to "*"
	CodeNotFound       = "not_found"       // 404: no such rule of the caller's
	CodeBadJSON        = "bad_json"        // 400: the body is not one JSON object of the request shape
	CodeBadRequest     = "bad_request"     // 400: a field is missing or out of range
	CodeBadFilter      = "bad_filter"      // 400: the filter is not valid (same rules as the WebSocket)
	CodeBadDestination = "bad_destination" // 400: the destination is not valid
	CodeTooLarge       = "too_large"       // 413: the body exceeds 64 KiB
	CodeLimitReached   = "limit_reached"   // 409: the caller holds as many rules as allowed
	CodeUnavailable    = "unavailable"     // 503: the rules could not be read or written (Redis)
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Logger is what the API reports to; zap's SugaredLogger is one.
type Logger interface {
	Infow(msg string, keysAndValues ...any)
	Warnw(msg string, keysAndValues ...any)
}

// Server serves the rules API. It is safe for concurrent use.
type Server struct {
	store    *rules.Store
	authn    *auth.Authenticator
	maxRules int
	now      func() time.Time
	log      Logger
	requests *prometheus.CounterVec
}

// New returns a Server letting each user hold up to maxRules rules. reg may
// be nil.
func New(store *rules.Store, authn *auth.Authenticator, maxRules int, reg prometheus.Registerer, log Logger) *Server {
	s := &Server{
		store: store, authn: authn, maxRules: maxRules, log: log,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveflow_alerts_api_requests_total",
			Help: "Rules API requests by operation and result: ok, or the error code.",
		}, []string{"op", "result"}),
	}
	if reg != nil {
		reg.MustRegister(s.requests)
	}
	return s
}

// Register adds the API's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/rules", s.handle("create", s.create))
	mux.HandleFunc("GET /v1/rules", s.handle("list", s.list))
	mux.HandleFunc("GET /v1/rules/{id}", s.handle("get", s.get))
	mux.HandleFunc("PUT /v1/rules/{id}", s.handle("replace", s.replace))
	mux.HandleFunc("DELETE /v1/rules/{id}", s.handle("delete", s.remove))
}

// apiError is an error answer.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// handler serves an authenticated request: it returns the status and the
// value to encode, or an error.
type handler func(r *http.Request, id auth.Identity) (int, any, error)

func (s *Server) handle(op string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body, err := s.serve(r, h)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.log.Warnw("rules API cannot reach the rules; is Redis up?", "op", op, "error", err)
				ae = fail(http.StatusServiceUnavailable, CodeUnavailable, "the rules cannot be read or written now; retry later")
			}
			if ae.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="liveflow-alerts"`)
			}
			s.requests.WithLabelValues(op, ae.code).Inc()
			writeJSON(w, ae.status, map[string]any{"error": map[string]string{"code": ae.code, "message": ae.msg}})
			return
		}
		s.requests.WithLabelValues(op, "ok").Inc()
		if body == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}

func (s *Server) serve(r *http.Request, h handler) (int, any, error) {
	id, err := s.authn.Authenticate(r)
	if err != nil {
		return 0, nil, fail(http.StatusUnauthorized, CodeUnauthorized, "%v", err)
	}
	if id.User == "" {
		return 0, nil, fail(http.StatusUnauthorized, CodeUnauthorized,
			"a token or API key is required (Authorization: Bearer)")
	}
	return h(r, id)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ruleRequest is the body of create and replace.
type ruleRequest struct {
	Name        string               `json:"name"`
	Filter      *filter.Filter       `json:"filter"`
	Destination *deliver.Destination `json:"destination"`
	Paused      bool                 `json:"paused"`
}

func decode(r *http.Request) (ruleRequest, error) {
	var req ruleRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return req, fail(http.StatusRequestEntityTooLarge, CodeTooLarge, "the body exceeds %d bytes", maxBody)
	case err != nil:
		return req, fail(http.StatusBadRequest, CodeBadJSON, "body: %v", err)
	case req.Filter == nil:
		return req, fail(http.StatusBadRequest, CodeBadRequest, "filter is missing")
	case req.Destination == nil:
		return req, fail(http.StatusBadRequest, CodeBadRequest, "destination is missing")
	}
	return req, nil
}

// check validates a rule and the caller's entitlement to its underlyings.
func check(r *rules.Rule, id auth.Identity) error {
	if err := r.Check(); err != nil {
		code := CodeBadRequest
		var ce *rules.CheckError
		if errors.As(err, &ce) {
			code = map[string]string{rules.PartFilter: CodeBadFilter, rules.PartDestination: CodeBadDestination}[ce.Part]
			if code == "" {
				code = CodeBadRequest
			}
		}
		return fail(http.StatusBadRequest, code, "%v", err)
	}
	for _, u := range r.Filter.Symbols {
		if u == "*" && !id.Firehose {
			return fail(http.StatusForbidden, CodeForbidden, "your credential does not allow the whole feed (*)")
		}
		if u != "*" && !id.Allows(u) {
			return fail(http.StatusForbidden, CodeForbidden, "your credential does not allow %q", u)
		}
	}
	return nil
}

// view is a rule as the API shows it: its webhook secret only in the answer
// to the request that set it.
func view(r rules.Rule, reveal bool) rules.Rule {
	if !reveal {
		r.Destination.Secret = ""
	}
	return r
}

func (s *Server) create(r *http.Request, id auth.Identity) (int, any, error) {
	req, err := decode(r)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	rule := rules.Rule{ID: newID(), Owner: id.User, Name: req.Name, Filter: *req.Filter,
		Destination: *req.Destination, Paused: req.Paused, Created: now, Updated: now}
	if rule.Destination.Type == deliver.Webhook && rule.Destination.Secret == "" {
		rule.Destination.Secret = newSecret()
	}
	if err := check(&rule, id); err != nil {
		return 0, nil, err
	}
	if _, err := s.store.Create(r.Context(), rule, s.maxRules); errors.Is(err, rules.ErrLimit) {
		return 0, nil, fail(http.StatusConflict, CodeLimitReached, "you hold %d rules, as many as allowed; delete one first", s.maxRules)
	} else if err != nil {
		return 0, nil, err
	}
	s.log.Infow("rule created", "user", id.User, "rule", rule.ID, "type", rule.Destination.Type)
	return http.StatusCreated, view(rule, rule.Destination.Type == deliver.Webhook), nil
}

func (s *Server) list(r *http.Request, id auth.Identity) (int, any, error) {
	all, err := s.store.List(r.Context(), id.User)
	if err != nil {
		return 0, nil, err
	}
	for i := range all {
		all[i] = view(all[i], false)
	}
	return http.StatusOK, map[string]any{"rules": all}, nil
}

func (s *Server) get(r *http.Request, id auth.Identity) (int, any, error) {
	rule, err := s.load(r, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, view(rule, false), nil
}

func (s *Server) replace(r *http.Request, id auth.Identity) (int, any, error) {
	old, err := s.load(r, id)
	if err != nil {
		return 0, nil, err
	}
	req, err := decode(r)
	if err != nil {
		return 0, nil, err
	}
	rule := rules.Rule{ID: old.ID, Owner: old.Owner, Name: req.Name, Filter: *req.Filter,
		Destination: *req.Destination, Paused: req.Paused, Created: old.Created, Updated: s.now()}
	reveal := false
	if d := &rule.Destination; d.Type == deliver.Webhook && d.Secret == "" {
		// A webhook keeps its secret unless a new one is given.
		if d.Secret = old.Destination.Secret; d.Secret == "" {
			d.Secret, reveal = newSecret(), true
		}
	}
	if err := check(&rule, id); err != nil {
		return 0, nil, err
	}
	if _, err := s.store.Replace(r.Context(), rule); errors.Is(err, rules.ErrNotFound) {
		return 0, nil, notFound(rule.ID)
	} else if err != nil {
		return 0, nil, err
	}
	s.log.Infow("rule replaced", "user", id.User, "rule", rule.ID)
	return http.StatusOK, view(rule, reveal), nil
}

func (s *Server) remove(r *http.Request, id auth.Identity) (int, any, error) {
	ruleID := r.PathValue("id")
	if _, err := s.store.Delete(r.Context(), id.User, ruleID); errors.Is(err, rules.ErrNotFound) {
		return 0, nil, notFound(ruleID)
	} else if err != nil {
		return 0, nil, err
	}
	s.log.Infow("rule deleted", "user", id.User, "rule", ruleID)
	return http.StatusNoContent, nil, nil
}

func (s *Server) load(r *http.Request, id auth.Identity) (rules.Rule, error) {
	ruleID := r.PathValue("id")
	rule, err := s.store.Get(r.Context(), id.User, ruleID)
	if errors.Is(err, rules.ErrNotFound) {
		return rule, notFound(ruleID)
	}
	return rule, err
}

func notFound(id string) error {
	return fail(http.StatusNotFound, CodeNotFound, "you have no rule %q", id)
}

// newID returns a rule id: 128 random bits in hex.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// newSecret returns a webhook secret: deliver.SecretLength random bytes,
// base64url without padding, after "whsec_".
func newSecret() string {
	b := make([]byte, deliver.SecretLength)
	_, _ = rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

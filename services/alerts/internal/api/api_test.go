package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/liveflow/liveflow/pkg/auth"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/alerts/internal/rules"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var hsSecret = []byte("0123456789abcdef0123456789abcdef")

func sum(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

type fixture struct {
	srv   *httptest.Server
	api   *Server
	store *rules.Store
}

func setup(t *testing.T) *fixture {
	rdb := redistest.Universal(t)
	authn, err := auth.New(auth.Config{
		HS256Secret: hsSecret,
		APIKeys: []auth.APIKey{
			{SHA256: sum("ann-key"), User: "ann", Firehose: true},
			{SHA256: sum("bob-key"), User: "bob", Symbols: []string{"SPY", "QQQ"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	store := rules.NewStore(rdb)
	s := New(store, authn, 3, nil, &testkit.Logs{})
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, api: s, store: store}
}

// call makes a request with a credential and decodes the JSON answer.
func (f *fixture) call(t *testing.T, method, path, cred, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %s is not JSON", method, path, b)
		}
	}
	return resp.StatusCode, out
}

func code(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

const spyRule = `{"name":"SPY put sweeps","filter":{"symbols":["spy"],"kinds":["sweep"],"rights":["P"],"min_premium":100000},
	"destination":{"type":"webhook","url":"https://example.com/hook"}}`

func TestLifecycle(t *testing.T) {
	f := setup(t)
	status, created := f.call(t, "POST", "/v1/rules", "ann-key", spyRule)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	id := created["id"].(string)
	dest := created["destination"].(map[string]any)
	secret, _ := dest["secret"].(string)
	if len(id) != 32 || created["owner"] != "ann" || !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 {
		t.Errorf("created %v; want an id, the owner and a generated secret", created)
	}
	if fl := created["filter"].(map[string]any); fl["symbols"].([]any)[0] != "SPY" {
		t.Errorf("filter %v, want normalized symbols", fl)
	}

	status, got := f.call(t, "GET", "/v1/rules/"+id, "ann-key", "")
	if status != 200 || got["name"] != "SPY put sweeps" || got["destination"].(map[string]any)["secret"] != nil {
		t.Errorf("get: %d %v; want the rule without its secret", status, got)
	}
	if status, out := f.call(t, "GET", "/v1/rules/"+id, "bob-key", ""); status != 404 || code(out) != CodeNotFound {
		t.Errorf("another user's rule: %d %v, want 404", status, out)
	}

	// Replacing keeps the secret unless a new one is given.
	status, replaced := f.call(t, "PUT", "/v1/rules/"+id, "ann-key",
		`{"name":"renamed","paused":true,"filter":{"symbols":["QQQ"]},"destination":{"type":"webhook","url":"https://example.com/2"}}`)
	if status != 200 || replaced["name"] != "renamed" || replaced["paused"] != true || replaced["created"] != created["created"] ||
		replaced["destination"].(map[string]any)["secret"] != nil {
		t.Errorf("replace: %d %v", status, replaced)
	}
	stored, err := f.store.Get(context.Background(), "ann", id)
	if err != nil || stored.Destination.Secret != secret {
		t.Errorf("stored secret %q after a replace, want the first one kept", stored.Destination.Secret)
	}

	status, list := f.call(t, "GET", "/v1/rules", "ann-key", "")
	if rs := list["rules"].([]any); status != 200 || len(rs) != 1 {
		t.Errorf("list: %d %v", status, list)
	}
	if status, list := f.call(t, "GET", "/v1/rules", "bob-key", ""); status != 200 || len(list["rules"].([]any)) != 0 {
		t.Errorf("bob's list: %d %v, want empty", status, list)
	}
	if status, _ := f.call(t, "DELETE", "/v1/rules/"+id, "bob-key", ""); status != 404 {
		t.Errorf("bob deleted ann's rule: %d", status)
	}
	if status, _ := f.call(t, "DELETE", "/v1/rules/"+id, "ann-key", ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _ := f.call(t, "GET", "/v1/rules/"+id, "ann-key", ""); status != 404 {
		t.Errorf("get after delete: %d", status)
	}
	if got := testutil.ToFloat64(f.api.requests.WithLabelValues("create", "ok")); got != 1 {
		t.Errorf("create requests counted %v", got)
	}
}

func TestRejects(t *testing.T) {
	f := setup(t)
	token := func(claims jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(hsSecret)
		return s
	}
	carl := token(jwt.MapClaims{"sub": "carl", "exp": time.Now().Add(time.Hour).Unix(), "symbols": []string{"TSLA"}})
	expired := token(jwt.MapClaims{"sub": "carl", "exp": time.Now().Add(-time.Hour).Unix()})
	slack := `"destination":{"type":"slack","url":"https://hooks.slack.com/services/x"}`
	tests := []struct {
		name, method, path, cred, body string
		status                         int
		code, message                  string
	}{
		{"no credential", "GET", "/v1/rules", "", "", 401, CodeUnauthorized, "required"},
		{"unknown key", "GET", "/v1/rules", "nope", "", 401, CodeUnauthorized, "unknown API key"},
		{"expired token", "GET", "/v1/rules", expired, "", 401, CodeUnauthorized, "expired"},
		{"not JSON", "POST", "/v1/rules", "ann-key", "{", 400, CodeBadJSON, "body"},
		{"unknown field", "POST", "/v1/rules", "ann-key", `{"filter":{"symbols":["A"]},` + slack + `,"colour":1}`, 400, CodeBadJSON, "colour"},
		{"two objects", "POST", "/v1/rules", "ann-key", `{"filter":{"symbols":["A"]},` + slack + `}{}`, 400, CodeBadJSON, "more than one"},
		{"no filter", "POST", "/v1/rules", "ann-key", `{` + slack + `}`, 400, CodeBadRequest, "filter is missing"},
		{"no destination", "POST", "/v1/rules", "ann-key", `{"filter":{"symbols":["A"]}}`, 400, CodeBadRequest, "destination is missing"},
		{"bad filter", "POST", "/v1/rules", "ann-key", `{"filter":{"symbols":["A"],"kinds":["sweeps"]},` + slack + `}`, 400, CodeBadFilter, "filter.kinds"},
		{"bad symbol", "POST", "/v1/rules", "ann-key", `{"filter":{"symbols":["TOO-LONG"]},` + slack + `}`, 400, CodeBadFilter, "TOO-LONG"},
		{"bad destination", "POST", "/v1/rules", "ann-key", `{"filter":{"symbols":["A"]},"destination":{"type":"sms","url":"https://x"}}`, 400, CodeBadDestination, "destination.type"},
		{"secret on slack", "POST", "/v1/rules", "ann-key", `{"filter":{"symbols":["A"]},"destination":{"type":"slack","url":"https://x/","secret":"` + strings.Repeat("s", 32) + `"}}`, 400, CodeBadDestination, "only webhooks"},
		{"long name", "POST", "/v1/rules", "ann-key", `{"name":"` + strings.Repeat("n", 201) + `","filter":{"symbols":["A"]},` + slack + `}`, 400, CodeBadRequest, "name"},
		{"symbol not entitled", "POST", "/v1/rules", "bob-key", `{"filter":{"symbols":["SPY","TSLA"]},` + slack + `}`, 403, CodeForbidden, `"TSLA"`},
		{"whole feed not entitled", "POST", "/v1/rules", carl, `{"filter":{"symbols":["*"]},` + slack + `}`, 403, CodeForbidden, "whole feed"},
		{"too large", "POST", "/v1/rules", "ann-key", `{"name":"` + strings.Repeat("n", 70<<10) + `"}`, 413, CodeTooLarge, "exceeds"},
		{"replace unknown", "PUT", "/v1/rules/0123", "ann-key", `{"filter":{"symbols":["A"]},` + slack + `}`, 404, CodeNotFound, "0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := f.call(t, tt.method, tt.path, tt.cred, tt.body)
			msg, _ := out["error"].(map[string]any)["message"].(string)
			if status != tt.status || code(out) != tt.code || !strings.Contains(msg, tt.message) {
				t.Errorf("%d %v; want %d %s naming %q", status, out, tt.status, tt.code, tt.message)
			}
		})
	}
	if got := testutil.ToFloat64(f.api.requests.WithLabelValues("create", CodeBadFilter)); got != 2 {
		t.Errorf("bad filters counted %v, want 2", got)
	}
	// A token user entitled to TSLA may watch it.
	if status, out := f.call(t, "POST", "/v1/rules", carl, `{"filter":{"symbols":["tsla"]},`+slack+`}`); status != 201 {
		t.Errorf("an entitled token: %d %v", status, out)
	}
}

func TestLimit(t *testing.T) {
	f := setup(t)
	for i := range 3 {
		if status, out := f.call(t, "POST", "/v1/rules", "ann-key", spyRule); status != 201 {
			t.Fatalf("rule %d: %d %v", i+1, status, out)
		}
	}
	if status, out := f.call(t, "POST", "/v1/rules", "ann-key", spyRule); status != 409 || code(out) != CodeLimitReached {
		t.Errorf("a fourth rule: %d %v, want 409", status, out)
	}
	if status, _ := f.call(t, "POST", "/v1/rules", "bob-key", spyRule); status != 201 {
		t.Errorf("the limit is per user; bob got %d", status)
	}
}

func TestRedisDown(t *testing.T) {
	rdb, srv := redistest.Client(t)
	authn, _ := auth.New(auth.Config{APIKeys: []auth.APIKey{{SHA256: sum("k"), User: "ann"}}})
	logs := &testkit.Logs{}
	s := New(rules.NewStore(rdb), authn, 3, nil, logs)
	mux := http.NewServeMux()
	s.Register(mux)
	srv.Stop()
	req := httptest.NewRequest("GET", "/v1/rules", nil)
	req.Header.Set("Authorization", "Bearer k")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != 503 || !strings.Contains(w.Body.String(), CodeUnavailable) || !logs.Contains("is Redis up") {
		t.Errorf("with Redis down: %d %s, logs %q", w.Code, w.Body, logs.All())
	}
}

package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const key = "pk_live_0123456789"

func TestStringNeverShowsItsValue(t *testing.T) {
	s := New(key)
	type config struct {
		url string
		key String
		Key String
	}
	c := config{url: "wss://x", key: s, Key: s}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	zap.New(core).Info("config", zap.Any("config", c), zap.Stringer("key", s), zap.Any("k", s))
	var logged strings.Builder
	for _, e := range logs.All() {
		fmt.Fprintf(&logged, "%v %v\n", e.Message, e.ContextMap())
	}
	for name, out := range map[string]string{
		"%v":              fmt.Sprintf("%v", s),
		"%q":              fmt.Sprintf("%q", s),
		"%#v":             fmt.Sprintf("%#v", s),
		"%+v of a struct": fmt.Sprintf("%+v", c),
		"%#v of a struct": fmt.Sprintf("%#v", c),
		"json":            string(js),
		"zap":             logged.String(),
		"error":           fmt.Errorf("auth with %v failed", s).Error(),
	} {
		if strings.Contains(out, key) {
			t.Errorf("%s shows the credential: %s", name, out)
		}
	}
	if s.Reveal() != key {
		t.Errorf("Reveal = %q, want the credential", s.Reveal())
	}
	if (String{}).Reveal() != "" || !(String{}).IsZero() || s.IsZero() {
		t.Error("the zero String must hold nothing, and New(key) something")
	}
}

func TestLoad(t *testing.T) {
	const env = "LIVEFLOW_TEST_SECRET"
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("  "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv(env, "")
	if s, err := Load(env, path); err != nil || s.Reveal() != key {
		t.Errorf("Load from a file = %q, %v; want the trimmed key", s.Reveal(), err)
	}
	if s, err := Load(env, ""); err != nil || !s.IsZero() {
		t.Errorf("Load of nothing = %q, %v; want no credential", s.Reveal(), err)
	}
	if _, err := Load(env, filepath.Join(t.TempDir(), "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want not-exist", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(env, empty); err == nil {
		t.Error("Load of an empty file succeeded")
	}

	t.Setenv(env, key)
	if s, err := Load(env, ""); err != nil || s.Reveal() != key {
		t.Errorf("Load from the environment = %q, %v", s.Reveal(), err)
	}
	if _, err := Load(env, path); !errors.Is(err, ErrBoth) {
		t.Errorf("Load with both set = %v, want ErrBoth", err)
	}
}

package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keys := write("keys.json", `{"keys":[{"sha256":"`+strings.Repeat("ab", 32)+`","user":"desk"}]}`)
	tests := []struct {
		name     string
		files    Files
		required bool
		wantErr  string // empty when it must succeed
	}{
		{name: "none"},
		{name: "secret with a newline", files: Files{HS256SecretFile: write("s", strings.Repeat("s", 32)+"\r\n"), Issuer: "sso"},
			required: true},
		{name: "API keys", files: Files{APIKeysFile: keys}, required: true},
		{name: "short secret", files: Files{HS256SecretFile: write("short", "abc\n")}, wantErr: "at least 32"},
		{name: "missing secret file", files: Files{HS256SecretFile: filepath.Join(dir, "nope")},
			wantErr: "-jwt-hs256-secret-file"},
		{name: "not a PEM key", files: Files{RS256PublicKeyFile: write("key.pem", "hello")},
			wantErr: "-jwt-rs256-public-key-file"},
		{name: "bad key file", files: Files{APIKeysFile: write("bad.json", `{"keys":[{"sha":"x"}]}`)},
			wantErr: "-api-keys-file"},
		{name: "audience without a key", files: Files{Audience: "alerts"}, wantErr: "need a token key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.files.Authenticator()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Required() != tt.required {
				t.Errorf("Required() = %v, want %v", a.Required(), tt.required)
			}
		})
	}
}

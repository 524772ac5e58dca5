package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEListsEverySetting keeps the configuration reference honest: every
// environment variable a service accepts must appear in the README.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	env := regexp.MustCompile(`\(LIVEFLOW_[A-Z_]+,`)
	for _, name := range []string{"ingest", "scorer", "edge", "alerts"} {
		out, _ := exec.Command(filepath.Join(binDir, name), "-h").CombinedOutput()
		vars := env.FindAllString(string(out), -1)
		if len(vars) < 5 {
			t.Fatalf("%s -h lists %d settings; its usage text changed shape:\n%s", name, len(vars), out)
		}
		for _, v := range vars {
			v = strings.Trim(v, "(,")
			if !strings.Contains(string(readme), "`"+v+"`") {
				t.Errorf("README.md does not document %s of %s", v, name)
			}
		}
	}
}

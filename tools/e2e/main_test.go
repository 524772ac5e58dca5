// Package e2e runs the real service binaries against Kafka and a real
// redis-server and checks what WebSocket clients receive.
//
// Kafka is franz-go's in-process kfake cluster unless LIVEFLOW_KAFKA_BROKERS
// names real brokers; each test then uses topics and a consumer group of its
// own, so runs never see each other's data.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binDir holds the service binaries built for this test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "liveflow-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the services with the race detector when the tests run
// with it, so data races inside the services fail the run too.
func build(dir string) error {
	for _, name := range []string{"ingest", "scorer", "edge", "alerts"} {
		args := []string{"build", "-o", filepath.Join(dir, name)}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir = filepath.Join("..", "..", "services", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("e2e: build %s: %v\n%s", name, err, out)
		}
	}
	for _, tool := range []string{"devstack", "flowctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, tool), "./"+tool)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("e2e: build %s: %v\n%s", tool, err, out)
		}
	}
	return nil
}

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestOutsideReaders runs the pipeline on the test tape, fed by flowctl
// replay, and reads the flow topic as the quant teams' tools do: flowctl
// tail, kcat and the Python example. Each must see exactly the events the
// scorer wrote to the shard streams.
func TestOutsideReaders(t *testing.T) {
	s := startStack(t)
	group := "e2e-" + s.Topic
	scorerOps := freeAddr(t)
	if _, err := s.Service(binDir, "scorer", "LIVEFLOW_OPS_ADDR="+scorerOps, "LIVEFLOW_GROUP="+group); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, "http://"+scorerOps+"/readyz", 30*time.Second)

	out := flowctlRun(t, "replay", "-kafka-brokers", s.Brokers, "-topic", s.Topic, "-speed", "0", "testdata/tape.ndjson")
	if !strings.Contains(out, "19 ticks produced") {
		t.Errorf("flowctl replay: %s", out)
	}
	waitConsumed(t, s, group, 19)
	streams := readEvents(t, s.Redis)
	if want := len(readLines(t, "testdata/expected.ndjson")); len(streams) != want {
		t.Fatalf("the streams hold %d events, want the tape's %d", len(streams), want)
	}
	if dups := checkFlowTopic(t, "tape", s, streams); dups != 0 {
		t.Errorf("%d duplicates on the flow topic without a crash", dups)
	}

	t.Run("flowctl", func(t *testing.T) {
		out := flowctlRun(t, "tail", "-kafka-brokers", s.Brokers, "-topic", s.FlowTopic(), "-from", "start", "-until-end")
		compareEventSets(t, "flowctl tail", jsonEvents(t, out), streams)

		out = flowctlRun(t, "tail", "-kafka-brokers", s.Brokers, "-topic", s.FlowTopic(), "-from", "start",
			"-until-end", "-underlying", "MSFT", "-format", "table")
		msft := 0
		for _, e := range streams {
			if e["underlying"] == "MSFT" {
				msft++
			}
		}
		if rows := strings.Count(strings.TrimSpace(out), "\n"); rows != msft || !strings.HasPrefix(out, "TS ") {
			t.Errorf("table of MSFT has %d rows, want %d:\n%s", rows, msft, out)
		}

		out = flowctlRun(t, "topics", "describe", "-kafka-brokers", s.Brokers, "-partitions", "4",
			"-ticks-topic", s.Topic, "-flow-topic", s.FlowTopic(), "-state-topic", s.StateTopic())
		for _, name := range []string{s.FlowTopic(), s.StateTopic()} {
			if !hasRow(out, name, "ok") {
				t.Errorf("topics describe does not find %s as documented:\n%s", name, out)
			}
		}
		out = flowctlRun(t, "topics", "lag", "-kafka-brokers", s.Brokers, "-group", group)
		if !hasRow(out, group, "total", "0") {
			t.Errorf("the scorers' group should have no lag once the ticks are committed:\n%s", out)
		}
	})

	t.Run("kcat", func(t *testing.T) {
		cmd := exec.Command("kcat", "-b", s.Brokers, "-C", "-t", s.FlowTopic(), "-o", "beginning", "-e", "-q",
			"-f", `%k %p\n`)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("kcat: %v", err)
		}
		var got, want []string
		partition := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				t.Fatalf("kcat line %q", line)
			}
			got = append(got, f[0])
			if p, ok := partition[f[0]]; ok && p != f[1] {
				t.Errorf("underlying %s is in partitions %s and %s", f[0], p, f[1])
			}
			partition[f[0]] = f[1]
		}
		for _, e := range streams {
			want = append(want, fmt.Sprint(e["underlying"]))
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("kcat read keys %v, the streams hold events of %v", got, want)
		}
	})

	t.Run("python", func(t *testing.T) {
		python := pythonVenv(t, filepath.Join("..", "..", "examples", "python", "requirements.txt"))
		cmd := exec.Command(python, filepath.Join("..", "..", "examples", "python", "read_flow.py"),
			"--brokers", s.Brokers, "--topic", s.FlowTopic(), "--from-beginning", "--until-end",
			"--schema", filepath.Join("..", "..", "schemas", "flow_event.avsc"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("read_flow.py: %v\n%s", err, stderr.String())
		}
		compareEventSets(t, "python example", jsonEvents(t, string(b)), streams)
	})
}

// flowctlRun runs the flowctl binary and returns its stdout and stderr,
// failing the test if it exits with an error.
func flowctlRun(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "flowctl"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("flowctl %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

// jsonEvents parses JSON lines of events by key, without the times that
// differ between runs, like readEvents. Lines that are not JSON objects
// (progress or summaries on stderr) are skipped.
func jsonEvents(t testing.TB, out string) map[string]map[string]any {
	t.Helper()
	events := map[string]map[string]any{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		delete(e, "ingest_ts")
		delete(e, "scored_ts")
		key := fmt.Sprint(e["key"])
		if _, dup := events[key]; dup {
			t.Errorf("event %s printed twice", key)
		}
		events[key] = e
	}
	return events
}

// hasRow reports whether a line of out has all the given words.
func hasRow(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		fields := map[string]bool{}
		for _, f := range strings.Fields(line) {
			fields[f] = true
		}
		all := true
		for _, w := range words {
			all = all && fields[w]
		}
		if all {
			return true
		}
	}
	return false
}

// pythonVenv returns the python of a virtualenv with the requirements
// installed from PyPI, made once per version of the requirements in the
// machine's liveflow cache (LIVEFLOW_CACHE, default ~/.cache/liveflow, where
// the Kafka jars are kept too), so fresh clones reuse it.
func pythonVenv(t testing.TB, requirements string) string {
	t.Helper()
	req, err := os.ReadFile(requirements)
	if err != nil {
		t.Fatal(err)
	}
	cache := os.Getenv("LIVEFLOW_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "liveflow")
	}
	sum := sha256.Sum256(req)
	dir := filepath.Join(cache, "python-example-"+hex.EncodeToString(sum[:6]))
	python := filepath.Join(dir, "bin", "python")
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return python
	}
	start := time.Now()
	os.RemoveAll(dir)
	for _, args := range [][]string{
		{"python3", "-m", "venv", dir},
		{python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", requirements},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), req, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("made the Python example's virtualenv in %s", time.Since(start).Round(time.Second))
	return python
}

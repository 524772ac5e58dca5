package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/account"
)

// buildServices compiles ingest, scorer and edge into a directory for the
// test: the load tester runs them as processes and may not import them.
func buildServices(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"ingest", "scorer", "edge"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
		cmd.Dir = filepath.Join("..", "services", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}

// TestRunOnTheLocalStack runs the whole tool, small and short, on the stack
// it starts itself, with a burst, slow clients and resuming clients, and
// requires every client to get exactly what its filter wants.
func TestRunOnTheLocalStack(t *testing.T) {
	out := t.TempDir()
	cfg, err := parse([]string{"-bin", buildServices(t), "-out", out, "-clients", "40", "-rate", "800", "-underlyings", "25",
		"-duration", "4s", "-burst-factor", "2", "-burst-duration", "1s", "-slow-share", "0.2",
		"-slow-delay", "10ms", "-resume-share", "0.2", "-resume-every", "1s", "-resume-pause", "100ms",
		"-tail", "30s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var b strings.Builder
	res, err := run(ctx, cfg, &b)
	t.Log("\n" + b.String())
	if err != nil {
		t.Fatal(err)
	}

	a := res.Accounting
	if res.Subscribed != 40 || a.Clients != 40 {
		t.Errorf("%d of 40 clients subscribed, %d accounted", res.Subscribed, a.Clients)
	}
	if res.Ticks.Sent < 1000 || a.Expected < 100 {
		t.Errorf("%d ticks sent and %d deliveries expected: too little to prove anything", res.Ticks.Sent, a.Expected)
	}
	if a.Lost != 0 || a.Misrouted != 0 || a.Duplicated != 0 || a.LostLagged != 0 {
		t.Errorf("lost %d (%d misrouted by the scorer), duplicated %d, missing after lagged notices %d",
			a.Lost, a.Misrouted, a.Duplicated, a.LostLagged)
	}
	if s := res.Streams; !s.Checked || s.Missing+s.Extra+s.Differ+s.Repeated+s.Misrouted != 0 {
		t.Errorf("the streams do not hold what the replay scored: %+v", s)
	}
	if res.Resumes.Replies == 0 || res.Resumes.Gaps != 0 || res.Resumes.Failed != 0 {
		t.Errorf("resumes: %+v", res.Resumes)
	}
	for c := range account.Classes {
		if n := res.Latency[c.String()].Count; n == 0 {
			t.Errorf("no latency of %s clients", c)
		}
	}
	if len(res.Timeline) < 3 || len(res.Processes) < 6 || len(res.Stages) == 0 {
		t.Errorf("timeline of %d seconds, %d processes, %d stages", len(res.Timeline), len(res.Processes),
			len(res.Stages))
	}
	if !res.Gate.NoDuplicates || !res.Gate.AllSubscribed || !res.Gate.NoResumeGaps {
		t.Errorf("gate %+v", res.Gate)
	}

	raw, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ Ticks struct{ Sent int64 } }
	if err := json.Unmarshal(raw, &back); err != nil || back.Ticks.Sent != res.Ticks.Sent {
		t.Errorf("result.json: %v, ticks %d", err, back.Ticks.Sent)
	}
	if h, err := os.ReadFile(filepath.Join(out, "report.html")); err != nil || !strings.Contains(string(h), "<svg") {
		t.Errorf("report.html: %v", err)
	}
}

package charttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A case is one way to install the chart: the default values, or an example
// values file over them.
type chartCase struct {
	name  string
	files []string
}

func chartCases(t testing.TB) []chartCase {
	cases := []chartCase{{name: "default"}}
	for _, f := range exampleFiles(t) {
		cases = append(cases, chartCase{name: strings.TrimSuffix(filepath.Base(f), ".yaml"), files: []string{f}})
	}
	return cases
}

func TestLint(t *testing.T) {
	for _, c := range chartCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if err := lintChart(t, mergeValues(t, c.files...)); err != nil {
				t.Fatalf("helm lint --strict:\n%v", err)
			}
		})
	}
}

// TestRender renders the chart with the default values and each example,
// decodes every manifest strictly and checks that the pieces fit together
// and fit the services.
func TestRender(t *testing.T) {
	flags := map[string]map[string]string{}
	for _, svc := range services {
		flags[svc] = serviceBuild(t, svc).flags
	}
	reached := map[string]map[string]bool{} // flags some case sets, by service
	for _, svc := range services {
		reached[svc] = map[string]bool{}
	}
	complete := true
	for _, c := range chartCases(t) {
		complete = t.Run(c.name, func(t *testing.T) {
			vals := mergeValues(t, c.files...)
			manifests, err := render(t, vals)
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			o := decodeAll(t, manifests)
			chk := &checker{t: t, o: o, flags: flags}
			chk.all()
			for svc, env := range chk.envs {
				given := configOf(vals, svc)
				for name := range env {
					if f, ok := flagOf(flags[svc], name); ok && !given[f] {
						reached[svc][f] = true
					}
				}
			}
		}) && complete
	}
	if !complete {
		return // a case failed: what it would have set is unknown
	}
	// Every flag of every service can be set through the chart: by the
	// chart itself in some case above, or through <service>.config.
	config := schemaConfigFlags(t)
	for _, svc := range services {
		for f := range flags[svc] {
			if !reached[svc][f] && !config[svc][f] {
				t.Errorf("flag -%s of %s cannot be set through the chart: add it to %s.config in values.schema.json, "+
					"or set it from a value in the templates", f, svc, svc)
			}
		}
		for f := range config[svc] {
			if _, ok := flags[svc][f]; !ok {
				t.Errorf("values.schema.json allows %s.config.%s, but %s has no flag -%s", svc, f, svc, f)
			}
			if reached[svc][f] {
				t.Errorf("values.schema.json allows %s.config.%s, which the chart sets itself", svc, f)
			}
		}
	}
}

// configOf returns the flags a values map gives a service through its
// config.
func configOf(vals map[string]any, svc string) map[string]bool {
	out := map[string]bool{}
	v, _ := vals[svc].(map[string]any)
	cfg, _ := v["config"].(map[string]any)
	for f := range cfg {
		out[f] = true
	}
	return out
}

// schemaConfigFlags returns the flags values.schema.json allows in each
// service's config.
func schemaConfigFlags(t testing.TB) map[string]map[string]bool {
	t.Helper()
	var schema struct {
		Properties map[string]struct {
			Properties struct {
				Config struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"config"`
			} `json:"properties"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(chartDir, "values.schema.json")), &schema); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, svc := range services {
		out[svc] = map[string]bool{}
		for f := range schema.Properties[svc].Properties.Config.Properties {
			out[svc][f] = true
		}
	}
	return out
}

// TestRenderConfigValues checks that values given by flag name reach the
// service as the flag would read them: large numbers stay integers,
// durations and booleans stay as written.
func TestRenderConfigValues(t *testing.T) {
	vals := mergeValues(t)
	vals["scorer"] = map[string]any{"config": map[string]any{
		"stream-maxlen": 1e6, "block-premium": 250000.5, "stream-ttl": "36h", "pprof": true, "weight-dte": -1,
	}}
	manifests, err := render(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	o := decodeAll(t, manifests)
	cm := o.configMap(releaseName + "-liveflow-scorer")
	if cm == nil {
		t.Fatal("no scorer ConfigMap")
	}
	want := map[string]string{
		"LIVEFLOW_STREAM_MAXLEN": "1000000", "LIVEFLOW_BLOCK_PREMIUM": "250000.5",
		"LIVEFLOW_STREAM_TTL": "36h", "LIVEFLOW_PPROF": "true", "LIVEFLOW_WEIGHT_DTE": "-1",
	}
	for k, v := range want {
		if cm.Data[k] != v {
			t.Errorf("%s = %q, want %q", k, cm.Data[k], v)
		}
	}
}

// TestBadValues renders each values file of testdata/bad, whose first line
// says "# want: <part of the error>", and expects Helm to refuse it with
// that message.
func TestBadValues(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad values files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			want := wantLine(t, f)
			_, err := render(t, mergeValues(t, f))
			if err == nil {
				t.Fatalf("rendered; want an error with %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, want)
			}
		})
	}
}

func wantLine(t testing.TB, path string) string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	if sc.Scan() {
		if w, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
			return w
		}
	}
	t.Fatalf("%s: the first line must be \"# want: <part of the error>\"", path)
	return ""
}

// metricName matches the liveflow metrics a PromQL expression or Go source
// names.
var metricName = regexp.MustCompile(`liveflow_[a-z0-9_]+`)

// exportedMetrics returns the metric names the services' code registers,
// read from their source: every string literal that is a liveflow_ name.
func exportedMetrics(t testing.TB) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, svc := range services {
		err := filepath.WalkDir(filepath.Join(repoRoot, "services", svc), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			for _, m := range regexp.MustCompile(`"(liveflow_[a-z0-9_]+)"`).FindAllSubmatch(src, -1) {
				names[string(m[1])] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(names) == 0 {
		t.Fatal("found no metrics in the services' source")
	}
	return names
}

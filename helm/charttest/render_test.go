package charttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// The chart is rendered with Helm's own packages, in the steps of `helm
// template` (load, check kubeVersion, coalesce and validate values against
// values.schema.json, render, split and sort the manifests), without the
// release bookkeeping and cluster clients of Helm's action package, whose
// dependencies would triple the compile time of these tests.

const (
	chartDir    = "../liveflow"
	repoRoot    = "../.."
	releaseName = "flow"
	namespace   = "markets"
	// kubeVersion is the oldest Kubernetes the chart supports (Chart.yaml).
	kubeVersion = "v1.30.0"
)

// mergeValues reads values files and merges them in order, as `helm -f a -f
// b` does.
func mergeValues(t testing.TB, files ...string) map[string]any {
	t.Helper()
	vals := map[string]any{}
	for _, f := range files {
		v, err := loader.LoadValues(bytes.NewReader(readFile(t, f)))
		if err != nil {
			t.Fatalf("values file %s: %v", f, err)
		}
		vals = loader.MergeMaps(vals, v)
	}
	return vals
}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch
}

func kube(t testing.TB) *common.KubeVersion {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// render is `helm template` of the chart with vals: the manifests in install
// order, or the error Helm reports (a schema violation, a fail template, a
// manifest that is not YAML).
func render(t testing.TB, vals map[string]any) ([]releaseutil.Manifest, error) {
	t.Helper()
	ch := loadChart(t)
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kube(t)
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion %s, not %s", ch.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	opts := common.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, false)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, err
	}
	notes := filepath.Join(ch.Name(), "templates", "NOTES.txt")
	if strings.TrimSpace(files[notes]) == "" {
		return nil, errors.New("NOTES.txt rendered empty")
	}
	delete(files, notes)
	hooks, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	if len(hooks) > 0 {
		return nil, fmt.Errorf("the chart has %d hooks, which these tests do not check", len(hooks))
	}
	return manifests, nil
}

// lintChart is `helm lint --strict` of the chart with vals: warnings fail
// too.
func lintChart(t testing.TB, vals map[string]any) error {
	t.Helper()
	l := lint.RunAll(chartDir, vals, namespace, lint.WithKubeVersion(kube(t)))
	var errs []error
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			errs = append(errs, m)
		}
	}
	return errors.Join(errs...)
}

// exampleFiles are the example values files shipped with the chart.
func exampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example values files in %s/examples: %v", chartDir, err)
	}
	return files
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

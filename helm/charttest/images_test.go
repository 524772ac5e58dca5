package charttest

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// services are the services that have an image and a part in the chart.
var services = []string{"ingest", "scorer", "edge", "alerts"}

// buildRoot holds the build contexts and binaries of one test run.
var buildRoot string

func TestMain(m *testing.M) {
	// Helm logs each fail template it meets at the info level; the tests
	// check the errors themselves.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	dir, err := os.MkdirTemp("", "charttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// imageBuild is the build stage of a service's Dockerfile, run once per
// test run.
type imageBuild struct {
	once  sync.Once
	bin   string
	flags map[string]string // flag name to default, from -h
	err   error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*imageBuild{}
)

// serviceBuild runs the build stage of a service's Dockerfile without a
// container engine: it copies out of the repository only what the COPY
// instructions copy and .dockerignore lets into the build context, runs the
// RUN instructions with the stage's ENV in that copy (the paths under / of
// the stage map into it), and asks the binary for its flags with -h.
func serviceBuild(t testing.TB, svc string) *imageBuild {
	t.Helper()
	buildsMu.Lock()
	b := builds[svc]
	if b == nil {
		b = &imageBuild{}
		builds[svc] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.err = b.build(svc) })
	if b.err != nil {
		t.Fatalf("%s image build stage: %v", svc, b.err)
	}
	return b
}

func (b *imageBuild) build(svc string) error {
	df, err := parseDockerfile(dockerfilePath(svc))
	if err != nil {
		return err
	}
	final := df.final()
	cp, ok := final.last("COPY")
	if !ok || len(cp.flags) != 1 || !strings.HasPrefix(cp.flags[0], "--from=") {
		return fmt.Errorf("the final stage copies no binary from the build stage")
	}
	from := strings.TrimPrefix(cp.flags[0], "--from=")
	var build *stage
	for i := range df.stages {
		if df.stages[i].name == from {
			build = &df.stages[i]
		}
	}
	if build == nil {
		return fmt.Errorf("no stage named %q", from)
	}
	binInStage := strings.Fields(cp.args)[0]

	root := filepath.Join(buildRoot, svc)
	ignore, err := dockerignore()
	if err != nil {
		return err
	}
	workdir := "/"
	env := os.Environ()
	for _, in := range build.ins {
		switch in.cmd {
		case "WORKDIR":
			workdir = in.args
		case "ENV":
			kv, err := in.env()
			if err != nil {
				return err
			}
			env = append(env, kv...)
		case "COPY":
			if err := copyIn(ignore, root, workdir, strings.Fields(in.args)); err != nil {
				return fmt.Errorf("COPY %s: %w", in.args, err)
			}
		case "RUN":
			if err := os.MkdirAll(filepath.Join(root, workdir), 0o755); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, binInStage)), 0o755); err != nil {
				return err
			}
			script := strings.ReplaceAll(in.args, binInStage, filepath.Join(root, binInStage))
			cmd := exec.Command("sh", "-c", script)
			cmd.Dir = filepath.Join(root, workdir)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("RUN %s: %w\n%s", in.args, err, out)
			}
		default:
			return fmt.Errorf("the build stage has a %s instruction, which this test does not run", in.cmd)
		}
	}
	b.bin = filepath.Join(root, binInStage)
	b.flags, err = readFlags(b.bin)
	return err
}

func dockerfilePath(svc string) string {
	return filepath.Join(repoRoot, "services", svc, "Dockerfile")
}

func dockerignore() (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return patternmatcher.New(patterns)
}

// copyIn does what COPY src... dst does with the build context at repoRoot
// and the stage's file system at root: a directory source copies its
// contents, a file source lands in dst/ (or at dst).
func copyIn(ignore *patternmatcher.PatternMatcher, root, workdir string, args []string) error {
	if len(args) < 2 {
		return errors.New("want sources and a destination")
	}
	srcs, dst := args[:len(args)-1], args[len(args)-1]
	if !filepath.IsAbs(dst) {
		dst = filepath.Join(workdir, dst) + map[bool]string{true: "/"}[strings.HasSuffix(dst, "/")]
	}
	for _, src := range srcs {
		rel := filepath.Clean(src)
		if ok, err := ignore.MatchesOrParentMatches(rel); err != nil || ok {
			return fmt.Errorf("%s is not in the build context (.dockerignore): %v", src, err)
		}
		info, err := os.Stat(filepath.Join(repoRoot, rel))
		if err != nil {
			return err
		}
		if !info.IsDir() {
			to := filepath.Join(root, dst)
			if strings.HasSuffix(dst, "/") {
				to = filepath.Join(to, filepath.Base(rel))
			}
			if err := copyFile(filepath.Join(repoRoot, rel), to); err != nil {
				return err
			}
			continue
		}
		err = filepath.WalkDir(filepath.Join(repoRoot, rel), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			inCtx, err := filepath.Rel(repoRoot, path)
			if err != nil {
				return err
			}
			if ok, err := ignore.MatchesOrParentMatches(inCtx); err != nil || ok {
				return err
			}
			under, err := filepath.Rel(filepath.Join(repoRoot, rel), path)
			if err != nil {
				return err
			}
			return copyFile(path, filepath.Join(root, dst, under))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var usageLine = regexp.MustCompile(`^  -(\S+)  \((LIVEFLOW_\w+), default "(.*)"\)$`)

// readFlags runs a service with -h and returns its flags and their
// defaults. The variable each flag names must be LIVEFLOW_ and the flag in
// upper case, with underscores for dashes.
func readFlags(bin string) (map[string]string, error) {
	cmd := exec.Command(bin, "-h")
	cmd.Env = []string{} // no LIVEFLOW_ setting may change the defaults
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s -h: %w\n%s", bin, err, out)
	}
	flags := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		m := usageLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if want := envName(m[1]); m[2] != want {
			return nil, fmt.Errorf("flag -%s reads %s, want %s", m[1], m[2], want)
		}
		flags[m[1]] = m[3]
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s -h listed no flags:\n%s", bin, out)
	}
	return flags, nil
}

// envName is the variable of a flag, as pkg/svc documents it.
func envName(flag string) string {
	return "LIVEFLOW_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flag))
}

// flagOf is the inverse of envName over a service's flags.
func flagOf(flags map[string]string, env string) (string, bool) {
	for f := range flags {
		if envName(f) == env {
			return f, true
		}
	}
	return "", false
}

// TestImages checks the Dockerfile of every service, and what its build
// stage makes.
func TestImages(t *testing.T) {
	vals := mergeValues(t, filepath.Join(chartDir, "values.yaml"))
	chartUser := vals["podSecurityContext"].(map[string]any)["runAsUser"]
	dockerfiles, err := filepath.Glob(filepath.Join(repoRoot, "services", "*", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var imaged []string
	for _, f := range dockerfiles {
		imaged = append(imaged, filepath.Base(filepath.Dir(f)))
	}
	for _, svc := range services {
		if !slices.Contains(imaged, svc) {
			t.Errorf("the chart runs %s, which has no Dockerfile", svc)
		}
	}
	for _, svc := range imaged {
		t.Run(svc, func(t *testing.T) {
			b := serviceBuild(t, svc)
			df, err := parseDockerfile(dockerfilePath(svc))
			if err != nil {
				t.Fatal(err)
			}
			checkStatic(t, b.bin)
			checkGoVersion(t, df, svc)

			final := df.final()
			if !strings.Contains(final.from, "distroless/static") || !strings.HasSuffix(final.from, ":nonroot") {
				t.Errorf("final stage FROM %q: want a distroless/static:nonroot base", final.from)
			}
			for _, in := range final.ins {
				if in.cmd == "RUN" {
					t.Errorf("final stage has RUN %s: the base has no shell", in.args)
				}
			}
			user, ok := final.last("USER")
			uid, _, _ := strings.Cut(user.args, ":")
			if n, err := strconv.Atoi(uid); !ok || err != nil || n == 0 {
				t.Errorf("USER %q: want a numeric non-root user, so runAsNonRoot can verify it", user.args)
			} else if fmt.Sprint(n) != fmt.Sprint(chartUser) {
				t.Errorf("USER %d, but the chart runs pods as %v", n, chartUser)
			}
			cp, _ := final.last("COPY")
			var entry []string
			ep, _ := final.last("ENTRYPOINT")
			if err := json.Unmarshal([]byte(ep.args), &entry); err != nil || len(entry) != 1 ||
				entry[0] != strings.Fields(cp.args)[1] {
				t.Errorf("ENTRYPOINT %s: want the exec form of the copied binary %s", ep.args, cp.args)
			}
			expose, _ := final.last("EXPOSE")
			addrFlag := "ops-addr"
			if _, ok := b.flags["http-addr"]; ok {
				addrFlag = "http-addr"
			}
			if got, want := expose.args, addrPort(b.flags[addrFlag]); got != want {
				t.Errorf("EXPOSE %s, but -%s listens on %q by default", got, addrFlag, b.flags[addrFlag])
			}
		})
	}
}

// checkStatic fails unless bin is a statically linked ELF executable, which
// an image without libc can run.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a dynamic loader: build it with CGO_ENABLED=0", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", bin, libs)
	}
}

// checkGoVersion fails when the build stage's Go is older than the go line
// of the service's module.
func checkGoVersion(t *testing.T, df dockerfile, svc string) {
	t.Helper()
	from := df.stages[0].from
	img, tag, _ := strings.Cut(from, ":")
	if img != "golang" {
		t.Fatalf("build stage FROM %q: want the golang image", from)
	}
	mod := string(readFile(t, filepath.Join(repoRoot, "services", svc, "go.mod")))
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(mod)
	if m == nil {
		t.Fatalf("services/%s/go.mod has no go line", svc)
	}
	if versionLess(tag, m[1]) {
		t.Errorf("build stage Go %s is older than go %s of services/%s/go.mod", tag, m[1], svc)
	}
}

// versionLess compares dotted version numbers such as 1.26.8.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

package charttest

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// A Dockerfile as far as these tests read one: stages of instructions, with
// the ARGs declared before the first FROM substituted into the FROM lines.
type dockerfile struct {
	args   map[string]string // global ARG defaults
	stages []stage
}

type stage struct {
	from, name string
	ins        []instruction
}

// instruction is one Dockerfile instruction: its upper-case command, its
// leading --flags and the rest of the line.
type instruction struct {
	cmd   string
	flags []string
	args  string
}

func parseDockerfile(path string) (dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return dockerfile{}, err
	}
	defer f.Close()
	df := dockerfile{args: map[string]string{}}
	var line string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if line == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(l, `\`); ok {
			line += rest + " "
			continue
		}
		if err := df.add(line + l); err != nil {
			return df, fmt.Errorf("%s: %w", path, err)
		}
		line = ""
	}
	if err := sc.Err(); err != nil {
		return df, err
	}
	if len(df.stages) == 0 {
		return df, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

func (df *dockerfile) add(line string) error {
	cmd, rest, _ := strings.Cut(line, " ")
	in := instruction{cmd: strings.ToUpper(cmd)}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		flag, more, _ := strings.Cut(rest, " ")
		in.flags = append(in.flags, flag)
		rest = strings.TrimSpace(more)
	}
	in.args = rest
	switch {
	case in.cmd == "FROM":
		from, name, _ := strings.Cut(df.expand(rest), " AS ")
		df.stages = append(df.stages, stage{from: strings.TrimSpace(from), name: strings.TrimSpace(name)})
	case in.cmd == "ARG" && len(df.stages) == 0:
		k, v, _ := strings.Cut(rest, "=")
		df.args[k] = v
	case len(df.stages) == 0:
		return fmt.Errorf("instruction %q before the first FROM", line)
	default:
		s := &df.stages[len(df.stages)-1]
		s.ins = append(s.ins, in)
	}
	return nil
}

var argRef = regexp.MustCompile(`\$\{(\w+)\}`)

func (df *dockerfile) expand(s string) string {
	return argRef.ReplaceAllStringFunc(s, func(ref string) string {
		return df.args[argRef.FindStringSubmatch(ref)[1]]
	})
}

// final is the stage the image is made of.
func (df *dockerfile) final() stage { return df.stages[len(df.stages)-1] }

// last returns the last instruction of a command in a stage.
func (s stage) last(cmd string) (instruction, bool) {
	for i := len(s.ins) - 1; i >= 0; i-- {
		if s.ins[i].cmd == cmd {
			return s.ins[i], true
		}
	}
	return instruction{}, false
}

// env returns the variables an ENV instruction sets, in its KEY=VALUE form
// (the only one these Dockerfiles use).
func (in instruction) env() ([]string, error) {
	pairs := strings.Fields(in.args)
	for _, kv := range pairs {
		if !strings.Contains(kv, "=") {
			return nil, fmt.Errorf("ENV %q: only KEY=VALUE pairs are read here", in.args)
		}
	}
	return pairs, nil
}

// Package svc holds the plumbing every liveflow service shares: settings from
// flags and LIVEFLOW_ environment variables, the zap logger, and the
// operations HTTP endpoints (/healthz, /readyz, /metrics).
package svc

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3"
)

// EnvPrefix is prepended to a flag's name to form its environment variable:
// the flag -kafka-brokers is also LIVEFLOW_KAFKA_BROKERS.
const EnvPrefix = "LIVEFLOW"

// EnvName returns the environment variable of a flag.
func EnvName(flagName string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// Parse reads args and the environment into fs; a flag on the command line
// wins over its variable. The usage text lists each flag with its variable.
// It returns flag.ErrHelp after printing usage for -h.
func Parse(fs *flag.FlagSet, args []string) error {
	fs.Usage = func() { PrintUsage(fs.Output(), fs) }
	err := ff.Parse(fs, args, ff.WithEnvVarPrefix(EnvPrefix))
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	return err
}

// PrintUsage writes one paragraph per flag: name, variable, default, help.
func PrintUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage of %s (each flag can also be set by its environment variable):\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  -%s  (%s, default %q)\n      %s\n", f.Name, EnvName(f.Name), f.DefValue, f.Usage)
	})
}

// Exit reports a configuration or start-up error and exits with status 2.
// It is for main functions, before a logger exists.
func Exit(name string, err error) {
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(2)
}

// Command flowctl reads and feeds liveflow's Kafka topics from a terminal:
//
//	flowctl tail     print records of a topic (options.flow by default), decoded
//	flowctl replay   produce a tape into the ticks topic at a chosen speed
//	flowctl topics   describe or create the topics, or show consumer group lag
//	flowctl schema   print the Avro schemas, or check a changed one
//
// Run "flowctl <command> -h" for a command's flags. The brokers default to
// LIVEFLOW_KAFKA_BROKERS, then 127.0.0.1:9092.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// env is what a command runs with; tests replace every part of it.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// tty says whether stderr is a terminal, where progress bars go.
	tty bool
}

// usageError is a mistake on the command line; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

type command struct {
	name, summary string
	run           func(ctx context.Context, e env, args []string) error
}

var commands = []command{
	{"tail", "print records of a topic, decoded, as JSON lines, CSV or a table", runTail},
	{"replay", "produce a tape file into the ticks topic at a chosen speed", runReplay},
	{"topics", "describe or create liveflow's topics, or show consumer group lag", runTopics},
	{"schema", "print the Avro schemas or check a changed one for compatibility", runSchema},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, tty: isTerminal(os.Stderr)}
	os.Exit(run(ctx, e, os.Args[1:]))
}

// run executes one command line and returns the exit status: 0, 1 for a
// failure, 2 for a usage error.
func run(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		printUsage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(e.stderr, "flowctl %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(e.stderr, "flowctl %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "flowctl: unknown command %q\n", args[0])
	printUsage(e.stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: flowctl <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "flowctl <command> -h" for its flags.`)
}

// newFlags returns a flag set that reports errors instead of exiting, with
// its usage going to the command's stderr.
func newFlags(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("flowctl "+name, flag.ContinueOnError)
	// Parse errors are reported once, by run; only -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: flowctl %s %s\n\n", name, synopsis)
		fs.SetOutput(e.stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args; a flag error is a usage error, -h is flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v (run %q for the flags)", err, fs.Name()+" -h")
	}
	return nil
}

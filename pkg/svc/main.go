package svc

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
)

// Common are the settings every service has.
type Common struct {
	LogLevel  string
	LogFormat string
	Pprof     bool
}

// Register adds the common flags to fs. where names the address the
// profiles are served on, for the help text.
func (c *Common) Register(fs *flag.FlagSet, where string) {
	fs.BoolVar(&c.Pprof, "pprof", false, "serve Go profiles under /debug/pprof/ on the "+where)
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "json or console")
}

// Main runs a service: setup reads the command line and environment and
// returns the common settings; run serves until the context ends on SIGINT
// or SIGTERM. A bad setting exits with status 2 and a message, an error from
// run with status 1 after logging it.
func Main(name string, setup func(args []string) (Common, error),
	run func(ctx context.Context, log *zap.Logger) error) {
	common, err := setup(os.Args[1:])
	if err != nil {
		Exit(name, err)
	}
	log, err := NewLogger(name, common.LogLevel, common.LogFormat)
	if err != nil {
		Exit(name, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, log)
	stop()
	if err != nil {
		log.Error(name+" stopped", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
	log.Info(name + " stopped")
	_ = log.Sync()
}

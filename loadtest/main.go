// Command loadtest opens WebSocket clients against an edge, subscribes each
// to a set of underlyings and reports what arrived: events, throughput and
// end-to-end latency (from ingest reading a tick to the client reading its
// event; both clocks must be the same machine's or synchronised).
//
// It only connects to the URL it is given (loopback by default) and stops by
// itself after -duration, or as soon as -until-events events arrived.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type config struct {
	url         string
	clients     int
	symbols     []string
	perClient   int
	duration    time.Duration
	untilEvents int64
	minEvents   int64
	seed        uint64
}

func parse(args []string) (config, error) {
	var c config
	var symbols string
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "ws://localhost:8080/ws", "edge WebSocket URL")
	fs.IntVar(&c.clients, "clients", 100, "WebSocket clients to open")
	fs.StringVar(&symbols, "symbols", "SPY,QQQ,TSLA,NVDA,AAPL,AMZN,META,AMD,IWM,MSFT",
		"underlyings the clients pick their watchlists from")
	fs.IntVar(&c.perClient, "per-client", 3, "underlyings in each client's watchlist (at most the -symbols count)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to run")
	fs.Int64Var(&c.untilEvents, "until-events", 0, "stop early once this many events arrived in total (0: run for -duration)")
	fs.Int64Var(&c.minEvents, "min-events", 0, "exit with status 1 unless at least this many events arrived")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the watchlist choice")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, s := range strings.Split(symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.symbols = append(c.symbols, s)
		}
	}
	switch {
	case !strings.HasPrefix(c.url, "ws://") && !strings.HasPrefix(c.url, "wss://"):
		return c, fmt.Errorf("-url %q: want ws:// or wss://", c.url)
	case c.clients < 1:
		return c, fmt.Errorf("-clients %d: want at least 1", c.clients)
	case len(c.symbols) == 0:
		return c, errors.New("-symbols is empty")
	case c.perClient < 1 || c.perClient > len(c.symbols):
		return c, fmt.Errorf("-per-client %d: want 1 to %d", c.perClient, len(c.symbols))
	case c.duration <= 0 || c.duration > 24*time.Hour:
		return c, fmt.Errorf("-duration %s: want more than 0 and at most 24h", c.duration)
	}
	return c, nil
}

func main() {
	cfg, err := parse(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
	if res.events < cfg.minEvents {
		fmt.Fprintf(os.Stderr, "loadtest: %d events arrived, fewer than -min-events %d\n", res.events, cfg.minEvents)
		os.Exit(1)
	}
}

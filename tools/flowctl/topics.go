package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/liveflow/liveflow/pkg/topics"
)

type topicsFlags struct {
	conn       connection
	ticks      string
	flow       string
	state      string
	partitions int
	retention  time.Duration
	groups     string
}

// runTopics runs "topics describe", "topics create" or "topics lag".
func runTopics(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("want a subcommand: describe, create or lag")
	}
	sub, args := args[0], args[1:]
	var f topicsFlags
	fs := newFlags(e, "topics "+sub, "[flags] [topic...]")
	f.conn.register(fs, e, false)
	switch sub {
	case "describe", "create":
		fs.StringVar(&f.ticks, "ticks-topic", topics.Ticks, "the ticks topic")
		fs.StringVar(&f.flow, "flow-topic", topics.Flow, "the flow topic")
		fs.StringVar(&f.state, "state-topic", topics.ScorerState, "the scorers' state topic")
		fs.IntVar(&f.partitions, "partitions", topics.DefaultPartitions, "partitions of the topics create makes (all three alike)")
		fs.DurationVar(&f.retention, "flow-retention", topics.DefaultFlowRetention, "retention of the flow topic create makes")
	case "lag":
		fs.StringVar(&f.groups, "group", "", "consumer groups to show, comma-separated; empty shows every group")
	default:
		return usagef("unknown subcommand %q: want describe, create or lag", sub)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.conn.check(); err != nil {
		return err
	}
	if f.partitions < 1 && sub != "lag" {
		return usagef("-partitions %d: want at least 1", f.partitions)
	}
	cl, err := f.conn.client(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	switch sub {
	case "describe":
		return f.describe(ctx, e, adm, fs.Args())
	case "create":
		return f.create(ctx, e, adm)
	}
	return f.lag(ctx, e, adm)
}

// specs are the documented settings of liveflow's topics.
func (f *topicsFlags) specs() []topics.Spec {
	n := int32(f.partitions)
	return []topics.Spec{
		{Name: f.ticks, Partitions: n, Configs: map[string]string{"cleanup.policy": "delete"},
			Required: []string{"cleanup.policy"}},
		topics.FlowSpec(f.flow, n, f.retention),
		topics.StateSpec(f.state, n, 16<<20),
	}
}

func (f *topicsFlags) describe(ctx context.Context, e env, adm *kadm.Client, names []string) error {
	specs := map[string]topics.Spec{}
	for _, s := range f.specs() {
		specs[s.Name] = s
	}
	if len(names) == 0 {
		names = []string{f.ticks, f.flow, f.state}
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("describe topics: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, names...)
	if err != nil {
		return fmt.Errorf("start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TOPIC\tPARTITIONS\tREPLICAS\tCLEANUP\tRETENTION\tMAX RECORD\tRECORDS\tCHECK")
	for _, name := range names {
		d, ok := details[name]
		if !ok || d.Err != nil {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\t-\tmissing (flowctl topics create makes it)\n", name)
			continue
		}
		cfg, err := topics.Configs(ctx, adm, name)
		if err != nil {
			return err
		}
		var records int64
		for p := range d.Partitions {
			s, _ := starts.Lookup(name, p)
			e, _ := ends.Lookup(name, p)
			records += e.Offset - s.Offset
		}
		check := "ok"
		if spec, known := specs[name]; known {
			if _, mismatches, err := topics.Check(ctx, adm, spec); err != nil {
				return err
			} else if len(mismatches) > 0 {
				var parts []string
				for _, m := range mismatches {
					level := "warning"
					if m.Required {
						level = "ERROR"
					}
					parts = append(parts, level+": "+m.String())
				}
				check = strings.Join(parts, "; ")
			}
		} else {
			check = "(not a liveflow topic)"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%d\t%s\n", name, len(d.Partitions), d.Partitions.NumReplicas(),
			cfg["cleanup.policy"], millis(cfg["retention.ms"]), cfg["max.message.bytes"], records, check)
	}
	return w.Flush()
}

// millis renders a retention in milliseconds as a duration.
func millis(s string) string {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms < 0 {
		return s
	}
	return (time.Duration(ms) * time.Millisecond).String()
}

func (f *topicsFlags) create(ctx context.Context, e env, adm *kadm.Client) error {
	failed := 0
	for _, s := range f.specs() {
		res, err := topics.EnsureSpec(ctx, adm, s)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(e.stdout, "%s: %v\n", s.Name, err)
		case res.Created:
			fmt.Fprintf(e.stdout, "%s: created with %d partitions\n", s.Name, res.Partitions)
		default:
			fmt.Fprintf(e.stdout, "%s: exists with %d partitions\n", s.Name, res.Partitions)
			for _, m := range res.Mismatches {
				fmt.Fprintf(e.stdout, "%s: warning: %s (kept as it is)\n", s.Name, m)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d topics cannot be used as they are", failed)
	}
	return nil
}

func (f *topicsFlags) lag(ctx context.Context, e env, adm *kadm.Client) error {
	groups := strings.Split(f.groups, ",")
	if f.groups == "" {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		groups = listed.Groups()
	}
	sort.Strings(groups)
	if len(groups) == 0 {
		fmt.Fprintln(e.stdout, "no consumer groups")
		return nil
	}
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return fmt.Errorf("lag: %w", err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GROUP\tSTATE\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\tMEMBER")
	for _, g := range groups {
		l, ok := lags[g]
		if !ok {
			continue
		}
		if err := l.Error(); err != nil {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\t-\t%v\n", g, err)
			continue
		}
		for _, ml := range l.Lag.Sorted() {
			member := "-"
			if ml.Member != nil {
				member = ml.Member.ClientID + " " + ml.Member.ClientHost
			}
			committed := strconv.FormatInt(ml.Commit.At, 10)
			if ml.Commit.At < 0 {
				committed = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\n", g, l.State, ml.Topic, ml.Partition,
				committed, ml.End.Offset, ml.Lag, member)
		}
		fmt.Fprintf(w, "%s\t%s\ttotal\t\t\t\t%d\t\n", g, l.State, l.Lag.Total())
	}
	return w.Flush()
}

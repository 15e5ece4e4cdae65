// Command wasteledger runs and inspects a wasteledger: the service (serve,
// demo), the embedded ledger (init, verify, inspect), the off-chain index
// (reindex, reconcile), keys and signatures for integrators (key, sign) and
// benchmarks (bench). Each command lives in its own cmd_*.go file and
// registers itself; this file only dispatches.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, env *env, args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

// env is what every command gets: output streams and the logger.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// serverGC sets, unless GOGC is set, the heap growth that triggers a
// collection for the long-running commands (serve, demo, bench). They keep
// a modest live heap (the world-state cache, up to --state-cache) and
// allocate briskly per transaction: collecting at 5× instead of Go's 2×
// takes 3–7 % less CPU per handover (bench ledger). Unless GOMEMLIMIT is
// set, a soft limit of 1 GiB makes the collector run sooner rather than
// let a full cache's 5× reach 1.5 GiB. Commands that may hold a large heap,
// such as verify replaying a big ledger, keep Go's defaults.
func serverGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wasteledger: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	level := slog.LevelInfo
	if os.Getenv("WASTELEDGER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	e := &env{stdout: stdout, stderr: stderr, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	if err := cmd.run(ctx, e, args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "wasteledger %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wasteledger <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'wasteledger <command> -h' for a command's flags.")
}

// flags returns a flag set for a command whose usage goes to stderr.
func (e *env) flags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("wasteledger "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: wasteledger %s [flags] %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// envDefault returns the environment variable WASTELEDGER_<NAME> or def:
// every flag can be set from the environment.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv("WASTELEDGER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return v
	}
	return def
}

package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// benchSubcommands are the benchmarks `wasteledger bench` runs; each lives
// in its own cmd_bench*.go file and adds itself here from an init func.
var benchSubcommands = map[string]command{}

func init() {
	register("bench", "run a benchmark: bench http (load against serve), bench ledger (the embedded ledger)", runBench)
}

func runBench(ctx context.Context, e *env, args []string) error {
	serverGC()
	names := make([]string, 0, len(benchSubcommands))
	for n := range benchSubcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stderr, "usage: wasteledger bench <benchmark> [flags]")
		for _, n := range names {
			fmt.Fprintf(e.stderr, "  %-8s %s\n", n, benchSubcommands[n].summary)
		}
		if len(args) == 0 {
			return fmt.Errorf("which benchmark? (%s)", strings.Join(names, ", "))
		}
		return nil
	}
	b, ok := benchSubcommands[args[0]]
	if !ok {
		return fmt.Errorf("unknown benchmark %q (have %s)", args[0], strings.Join(names, ", "))
	}
	return b.run(ctx, e, args[1:])
}

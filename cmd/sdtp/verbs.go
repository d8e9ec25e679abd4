package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
)

// verb is one sub-command of a command that takes verbs
// (sdtp longbench VERB, sdtp ruler VERB).
type verb struct {
	name, summary string
	run           func(context.Context, *env, []string) error
}

// verbNames lists the names of vs.
func verbNames(vs []verb) []string {
	var names []string
	for _, v := range vs {
		names = append(names, v.name)
	}
	return names
}

// runVerb runs the verb of vs that args name, with the rest of args.
// Without a verb, or asked for help, it lists the verbs under intro (a
// line or more about the command; may be empty).
func runVerb(ctx context.Context, e *env, command, intro string, vs []verb, args []string) error {
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" {
		w := verbUsageOut(e, args)
		fmt.Fprintf(w, "Usage: sdtp %s VERB [flags]   (sdtp %s VERB --help for its flags)\n\n", command, command)
		if intro != "" {
			fmt.Fprintf(w, "%s\n\n", intro)
		}
		fmt.Fprintln(w, "Verbs:")
		width := 0
		for _, v := range vs {
			width = max(width, len(v.name))
		}
		for _, v := range vs {
			fmt.Fprintf(w, "  %-*s  %s\n", width, v.name, v.summary)
		}
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	for _, v := range vs {
		if v.name == args[0] {
			return v.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "sdtp %s: unknown verb %q (want one of %s)\n", command, args[0], strings.Join(verbNames(vs), ", "))
	return errUsage
}

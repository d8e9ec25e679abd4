package main

import (
	"sort"
	"strings"
	"testing"
)

// TestHelpGoesToStdout checks that help asked for (--help, -h, help) is
// printed on stdout with exit status 0, so `sdtp --help | less` works, and
// that usage errors go to stderr with status 2.
func TestHelpGoesToStdout(t *testing.T) {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	helps := [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "generate"}, {"longbench", "run", "--help"},
		{"prune", "show", "--help"}, {"prune", "init", "-h"}, {"train", "eval", "--help"}, {"train", "corpus", "--help"}, {"longbench", "--help"}, {"prune", "--help"}}
	for _, n := range names {
		helps = append(helps, []string{n, "--help"}, []string{"help", n})
	}
	for _, args := range helps {
		code, out, errOut := run(t, args...)
		if code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
			t.Errorf("sdtp %s: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout only", strings.Join(args, " "), code, head(out), head(errOut))
		}
	}
	for _, args := range [][]string{{}, {"nonsense"}, {"help", "nonsense"}, {"generate", "--no-such-flag"}, {"bench", "extra"},
		{"longbench"}, {"longbench", "run", "--no-such-flag"}, {"prune"}, {"prune", "show"}, {"train", "eval", "--bogus"}, {"tokenize"}} {
		code, out, errOut := run(t, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage") {
			t.Errorf("sdtp %s: exit %d, stdout %q, stderr %q; want exit 2 and the usage on stderr only", strings.Join(args, " "), code, head(out), head(errOut))
		}
	}
}

// head is the first line of s, for short failure messages.
func head(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/sdtp/sdtp/h2o"
)

// h2oFlags are --h2o-budget and --h2o-recent: the H2O KV budget kept
// during decoding (package h2o).
type h2oFlags struct{ keep, recent string }

func registerH2O(fs *flag.FlagSet) *h2oFlags {
	f := &h2oFlags{}
	fs.StringVar(&f.keep, "h2o-budget", "", "H2O KV-cache budget kept during decoding, per layer: a fraction of the tokens the layer holds after the prefill (0.4 or 40%: the paper's 40%) or a token count (1024); tokens that received the least attention are evicted (default: no budget)")
	fs.StringVar(&f.recent, "h2o-recent", "", "the part of --h2o-budget kept for the most recent tokens, the rest going to the heavy hitters (most attention received): a fraction of the budget or a token count (default 0.5)")
	return f
}

// budget returns the budget the flags give, nil when --h2o-budget is not set.
func (f *h2oFlags) budget() (*h2o.Budget, error) {
	if strings.TrimSpace(f.keep) == "" {
		if f.recent != "" {
			return nil, fmt.Errorf("--h2o-recent needs --h2o-budget")
		}
		return nil, nil
	}
	b, err := h2o.Parse(f.keep, f.recent)
	if err != nil {
		if errors.Is(err, h2o.ErrRecent) {
			return nil, fmt.Errorf("--h2o-recent: %w", err)
		}
		return nil, fmt.Errorf("--h2o-budget: %w", err)
	}
	return &b, nil
}

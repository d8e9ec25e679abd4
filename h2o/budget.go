// Package h2o keeps a KV-cache budget during decoding by evicting the
// tokens that have received the least attention: H2O, the Heavy-Hitter
// Oracle (Zhang et al., NeurIPS 2023). Each layer keeps the most recent
// tokens and the "heavy hitters", the others with the largest attention
// mass accumulated since the prompt (every query of the prefill and every
// decode step, summed over heads); after the prefill and after each
// decode step, a layer holding more than its budget evicts the rest.
//
// Like H2O's own implementation, the scores start from the prompt's
// attention and eviction follows each step's attention, which already
// includes the new token. Unlike it, a whole token (all heads) is kept or
// evicted per layer, scored by its mass summed over the heads, because a
// cache row here holds every head of a token. With SDTP pruning, the
// prefill prunes the prompt first; the budget then applies to what each
// layer holds.
package h2o

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Amount is a size given either as a fraction of a whole or as a token
// count.
type Amount struct {
	// Fraction is the share of the whole, when Counted is false.
	Fraction float64
	// Tokens is the count, when Counted is true.
	Tokens  int
	Counted bool
}

// ParseAmount reads "0.4" or "40%" (a fraction) or "1024" (a token count;
// a number without a decimal point or a percent sign).
func ParseAmount(s string) (Amount, error) {
	t := strings.TrimSpace(s)
	if pct, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Amount{}, fmt.Errorf("%q is not a percentage", s)
		}
		return Amount{Fraction: v / 100}, nil
	}
	if !strings.ContainsAny(t, ".eE") {
		n, err := strconv.Atoi(t)
		if err != nil {
			return Amount{}, fmt.Errorf("%q is neither a fraction (0.4, 40%%) nor a token count (1024)", s)
		}
		return Amount{Tokens: n, Counted: true}, nil
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Amount{}, fmt.Errorf("%q is neither a fraction (0.4, 40%%) nor a token count (1024)", s)
	}
	return Amount{Fraction: v}, nil
}

// String writes the amount as ParseAmount reads it.
func (a Amount) String() string {
	if a.Counted {
		return strconv.Itoa(a.Tokens)
	}
	s := strconv.FormatFloat(a.Fraction, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0" // 1 as a fraction, not one token
	}
	return s
}

// of returns the amount out of whole: the count, or the fraction of whole
// rounded half away from zero.
func (a Amount) of(whole int) int {
	if a.Counted {
		return a.Tokens
	}
	return int(math.Round(a.Fraction * float64(whole)))
}

// DefaultRecent is the share of the budget given to the recent window when
// none is named: H2O's even split between heavy hitters and recent tokens.
var DefaultRecent = Amount{Fraction: 0.5}

// Budget is the KV budget of every layer during decoding.
type Budget struct {
	// Keep is what each layer keeps: a fraction of the tokens it holds
	// after the prefill (the prompt, or what SDTP left at that layer), or
	// a token count, the same for every layer. At least one token.
	Keep Amount
	// Recent is the part of Keep given to the most recent tokens: a
	// fraction of Keep or a token count (at most Keep). The rest of Keep
	// goes to the heavy hitters.
	Recent Amount
}

// Parse reads a budget from its two parts as the command-line flags give
// them (--h2o-budget, --h2o-recent); recent "" is DefaultRecent.
func Parse(keep, recent string) (Budget, error) {
	k, err := ParseAmount(keep)
	if err != nil {
		return Budget{}, fmt.Errorf("budget: %w", err)
	}
	r := DefaultRecent
	if strings.TrimSpace(recent) != "" {
		if r, err = ParseAmount(recent); err != nil {
			return Budget{}, fmt.Errorf("%w: %w", ErrRecent, err)
		}
	}
	b := Budget{Keep: k, Recent: r}
	return b, b.Check()
}

// ErrRecent marks the errors of Parse and Check that concern the recent
// window (so a caller can name the flag or field that set it).
var ErrRecent = errors.New("recent window")

// Check validates the budget.
func (b Budget) Check() error {
	switch {
	case b.Keep.Counted && b.Keep.Tokens < 1:
		return fmt.Errorf("budget of %d tokens: want at least 1", b.Keep.Tokens)
	case !b.Keep.Counted && !(b.Keep.Fraction > 0 && b.Keep.Fraction <= 1):
		return fmt.Errorf("budget fraction %v: want a value in (0, 1]", b.Keep.Fraction)
	case b.Recent.Counted && b.Recent.Tokens < 0:
		return fmt.Errorf("%w of %d tokens: must not be negative", ErrRecent, b.Recent.Tokens)
	case !b.Recent.Counted && !(b.Recent.Fraction >= 0 && b.Recent.Fraction <= 1):
		return fmt.Errorf("%w fraction %v: want a value in [0, 1]", ErrRecent, b.Recent.Fraction)
	}
	return nil
}

// String describes the budget as the flags give it: "0.4 recent 0.5".
func (b Budget) String() string { return b.Keep.String() + " recent " + b.Recent.String() }

// Sizes returns the tokens a layer that held held tokens after the prefill
// keeps, and how many of them are the most recent ones.
func (b Budget) Sizes(held int) (keep, recent int) {
	keep = max(1, b.Keep.of(held))
	recent = min(keep, max(0, b.Recent.of(keep)))
	return keep, recent
}

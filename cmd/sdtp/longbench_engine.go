package main

import (
	"fmt"

	"github.com/sdtp/sdtp/longbench"
	"github.com/sdtp/sdtp/session"
)

// This file is the only place where `sdtp longbench run` meets the
// inference engine: it opens the session the flags name and the
// longbench.ModelGenerator the runner drives.

// longbenchEngine is an opened model ready for the runner.
type longbenchEngine struct {
	sess     *session.Session
	gen      longbench.Generator
	settings map[string]string // what identifies the run in meta.json
	info     map[string]string // recorded in meta.json, not compared on resume
	maxPos   int
	close    func()
}

// openLongbenchEngine opens the backend, model, tokenizer and pruner that
// the flags name.
func openLongbenchEngine(o session.Options, p session.Pruning) (*longbenchEngine, error) {
	sess, err := session.Open(o)
	if err != nil {
		return nil, err
	}
	if sess.Tok == nil {
		sess.Close()
		return nil, fmt.Errorf("--tokenizer is required: LongBench prompts are text")
	}
	pr, cleanup, err := sess.Pruner(p)
	if err != nil {
		sess.Close()
		return nil, err
	}
	return &longbenchEngine{
		sess:     sess,
		gen:      longbench.NewModelGenerator(sess.M, sess.Tok, sess.StopIDs(), pr),
		settings: map[string]string{"model": o.Model, "tokenizer": o.Tokenizer, "backend": sess.B.Name(), "pruning": p.String()},
		info:     map[string]string{"device": sess.B.Device(), "model_name": sess.M.Config.Name},
		maxPos:   sess.M.Config.MaxPos,
		close: func() {
			cleanup()
			sess.Close()
		},
	}, nil
}

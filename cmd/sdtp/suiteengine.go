package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/internal/shard"
	"github.com/sdtp/sdtp/session"
)

// engineFlags are the flags of the evaluation runs (longbench run, ruler
// run) that choose how many rows run at once, where, and which of them.
type engineFlags struct {
	batch   *batchFlags
	shard   string
	devices string
}

func registerEngine(fs *flag.FlagSet) *engineFlags {
	f := &engineFlags{batch: registerBatch(fs, "batch", "rows in flight per device, decoding together (continuous batching; 1: one row at a time)")}
	fs.StringVar(&f.shard, "shard", "", "run shard I of N of the rows (I/N, from 0/N), split by their ids; 'longbench merge' joins the shards' folders (see README: sharded runs)")
	fs.StringVar(&f.devices, "devices", "", "GPU indices, comma-separated (e.g. 0,1,2,3): one engine per GPU in this process, rows going to the least busy (instead of --device)")
	return f
}

// suiteEngine is the model an evaluation run uses: the session of the
// first device (its tokenizer, positions and names) and a generator over
// every device's engine.
type suiteEngine struct {
	sess     *session.Session
	gen      evalrun.Generator
	inFlight int
	shard    shard.Spec
	devices  []int
	closers  []func()
}

// open opens one session per device, each with its pruner and, for a
// batch above 1, its batcher; every generation keeps the H2O budget kv
// (nil: none). On error nothing stays open.
func (f *engineFlags) open(fs *flag.FlagSet, suite string, o session.Options, pf session.Pruning, kv *h2o.Budget) (*suiteEngine, error) {
	if err := f.batch.check(); err != nil {
		return nil, err
	}
	sp, err := shard.Parse(f.shard)
	if err != nil {
		return nil, fmt.Errorf("--shard %w", err)
	}
	devices, err := parseDevices(f.devices)
	if err != nil {
		return nil, err
	}
	if devices != nil && flagSet(fs, "device") {
		return nil, fmt.Errorf("give --device or --devices, not both")
	}
	if devices == nil {
		devices = []int{o.Device}
	}
	s := &suiteEngine{shard: sp, devices: devices, inFlight: f.batch.size * len(devices)}
	var gens []evalrun.Generator
	for _, d := range devices {
		od := o
		od.Device = d
		sess, err := session.Open(od)
		if err != nil {
			s.Close()
			return nil, deviceErr(len(devices), d, err)
		}
		s.closers = append(s.closers, func() { sess.Close() })
		if s.sess == nil {
			s.sess = sess
		}
		if sess.Tok == nil {
			s.Close()
			return nil, fmt.Errorf("--tokenizer is required: %s prompts are text", suite)
		}
		pr, cleanup, err := sess.Pruner(pf)
		if err != nil {
			s.Close()
			return nil, deviceErr(len(devices), d, err)
		}
		s.closers = append(s.closers, cleanup)
		bt, err := f.batch.batcher(sess.M)
		if err != nil {
			s.Close()
			return nil, deviceErr(len(devices), d, err)
		}
		if bt == nil {
			gens = append(gens, evalrun.NewModelGenerator(sess.M, sess.Tok, sess.StopIDs(), pr).WithH2O(kv))
			continue
		}
		s.closers = append(s.closers, bt.Close)
		gens = append(gens, evalrun.NewBatchGenerator(bt, sess.Tok, sess.StopIDs(), pr).WithH2O(kv))
	}
	s.gen = gens[0]
	if len(gens) > 1 {
		s.gen = evalrun.NewPool(gens...)
	}
	return s, nil
}

func deviceErr(devices, d int, err error) error {
	if devices == 1 {
		return err
	}
	return fmt.Errorf("--devices %d: %w", d, err)
}

// info records how the run was spread (not compared on resume: it does
// not change the results beyond the device's rounding).
func (s *suiteEngine) info(m map[string]string) {
	var ds []string
	for _, d := range s.devices {
		ds = append(ds, strconv.Itoa(d))
	}
	m["devices"] = strings.Join(ds, ",")
	m["rows_in_flight"] = strconv.Itoa(s.inFlight)
}

// Close releases every device's engine, batchers first.
func (s *suiteEngine) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

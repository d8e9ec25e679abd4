package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sdtp/sdtp/model"
)

// Device is one model of a multi-device sweep and the name its rows carry
// (as "cuda:1").
type Device struct {
	Name  string
	Model *model.Model
}

// RunDevices measures the sweep of o with its configurations dealt over
// several devices, configuration i (in the order of o.Configs) on device
// i mod len(devs), every device running its share at the same time; it
// returns one result as Run does, each row naming its device.
//
// Each device's share is a sweep of its own, so a device measures its
// configurations interleaved in rounds as Run does, and the extra rounds
// of a noisy speedup, which compares rows of one sweep, run only for the
// configurations that share the baseline's device. Host memory is the
// process's, shared by the devices: rows record it with the "process"
// scope.
func RunDevices(ctx context.Context, devs []Device, o Options) (*Result, error) {
	if len(devs) == 0 {
		return nil, fmt.Errorf("bench: no devices")
	}
	if len(devs) == 1 {
		res, err := Run(ctx, devs[0].Model, o)
		if res != nil {
			res.Meta.Devices = []string{devs[0].Name + " " + devs[0].Model.B.Device()}
			for i := range res.Rows {
				res.Rows[i].Device = devs[0].Name
			}
		}
		return res, err
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	// Check every configuration on the first model, so a bad name fails
	// before any device starts.
	if _, err := ParseConfigs(o.Configs, devs[0].Model.Config.Layers); err != nil {
		return nil, err
	}
	shares := make([][]string, min(len(devs), len(o.Configs)))
	for i, c := range o.Configs {
		shares[i%len(shares)] = append(shares[i%len(shares)], c)
	}
	var mu sync.Mutex
	partial := make([]*Result, len(shares))
	runs := make([][2]int, len(shares))
	merged := func() *Result { return mergeDevices(partial, devs, o) }
	var wg sync.WaitGroup
	errs := make([]error, len(shares))
	for d, share := range shares {
		od := o
		od.Configs = share
		od.Progress = nil
		if o.Progress != nil {
			od.Progress = func(p Progress) {
				mu.Lock()
				defer mu.Unlock()
				runs[d] = [2]int{p.Run, p.Runs}
				p.Run, p.Runs = 0, 0
				for _, r := range runs {
					p.Run += r[0]
					p.Runs += r[1]
				}
				p.Config = devs[d].Name + " " + p.Config
				o.Progress(p)
			}
		}
		od.Checkpoint = func(r *Result) error {
			mu.Lock()
			defer mu.Unlock()
			// A copy: the sweep goes on appending to r.Rows.
			cp := *r
			cp.Rows = slices.Clone(r.Rows)
			partial[d] = &cp
			if o.Checkpoint == nil {
				return nil
			}
			return o.Checkpoint(merged())
		}
		wg.Go(func() {
			res, err := Run(ctx, devs[d].Model, od)
			mu.Lock()
			defer mu.Unlock()
			if res != nil {
				partial[d] = res
			}
			if err != nil {
				errs[d] = fmt.Errorf("%s: %w", devs[d].Name, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return merged(), err
		}
	}
	return merged(), nil
}

// mergeDevices joins the device sweeps' results (nil where none yet)
// into one: rows by length, then in the order of o.Configs, with the
// speedups against the baseline recomputed across devices.
func mergeDevices(parts []*Result, devs []Device, o Options) *Result {
	var res *Result
	var names []string
	for d, p := range parts {
		if p == nil {
			continue
		}
		if res == nil {
			res = &Result{Meta: p.Meta}
			res.Meta.Options.Configs = slices.Clone(o.Configs)
			res.Meta.Options.Lengths = sortedLengths(o.Lengths)
		}
		if p.Meta.End.After(res.Meta.End) {
			res.Meta.End, res.Meta.LoadEnd = p.Meta.End, p.Meta.LoadEnd
		}
		for _, row := range p.Rows {
			row.Device = devs[d].Name
			row.Memory.HostScope = "process"
			res.Rows = append(res.Rows, row)
		}
	}
	if res == nil {
		return nil
	}
	for _, d := range devs {
		names = append(names, d.Name+" "+d.Model.B.Device())
	}
	res.Meta.Devices = names
	res.Meta.Device = strings.Join(names, "; ")
	order := map[string]int{}
	for i, c := range o.Configs {
		order[c] = i
	}
	slices.SortStableFunc(res.Rows, func(a, b Row) int {
		if a.Length != b.Length {
			return a.Length - b.Length
		}
		return order[a.Config] - order[b.Config]
	})
	fillSpeedups(res)
	if res.Meta.End.IsZero() {
		res.Meta.End = time.Now().UTC()
	}
	return res
}

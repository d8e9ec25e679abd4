package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/internal/testmodel"
)

// TestH2OPerRequest checks how a request's "sdtp.h2o_budget" and
// "sdtp.h2o_recent" reach the engine, on a server with and without a
// default budget, on both endpoints, and what usage and the log say.
func TestH2OPerRequest(t *testing.T) {
	def := &h2o.Budget{Keep: h2o.Amount{Fraction: 0.3}, Recent: h2o.Amount{Tokens: 8, Counted: true}}
	for _, tc := range []struct {
		name   string
		def    *h2o.Budget
		sdtp   string // the request's "sdtp" object ("" for none)
		want   string // the budget the engine got ("" for none)
		status int
		param  string
	}{
		{name: "none", want: ""},
		{name: "fraction", sdtp: `{"h2o_budget": 0.4}`, want: "0.4 recent 0.5"},
		{name: "count and percent", sdtp: `{"h2o_budget": 1024, "h2o_recent": "25%"}`, want: "1024 recent 0.25"},
		{name: "one as a fraction", sdtp: `{"h2o_budget": 1.0, "h2o_recent": 16}`, want: "1.0 recent 16"},
		{name: "string", sdtp: `{"h2o_budget": "40%", "prune": "off"}`, want: "0.4 recent 0.5"},
		{name: "server default", def: def, want: "0.3 recent 8"},
		{name: "default off", def: def, sdtp: `{"h2o_budget": "off"}`, want: ""},
		{name: "default, own recent", def: def, sdtp: `{"h2o_recent": 0.25}`, want: "0.3 recent 0.25"},
		{name: "null is unset", def: def, sdtp: `{"h2o_budget": null}`, want: "0.3 recent 8"},
		{name: "zero tokens", sdtp: `{"h2o_budget": 0}`, status: 400, param: "sdtp.h2o_budget"},
		{name: "fraction above one", sdtp: `{"h2o_budget": 1.5}`, status: 400, param: "sdtp.h2o_budget"},
		{name: "bad recent", sdtp: `{"h2o_budget": 0.4, "h2o_recent": 2.0}`, status: 400, param: "sdtp.h2o_recent"},
		{name: "not a number", sdtp: `{"h2o_budget": true}`, status: 400, param: "sdtp.h2o_budget"},
		{name: "recent alone", sdtp: `{"h2o_recent": 0.5}`, status: 400, param: "sdtp.h2o_recent"},
		{name: "recent with off", def: def, sdtp: `{"h2o_budget": "off", "h2o_recent": 0.5}`, status: 400, param: "sdtp.h2o_recent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := defaultOptions()
			o.DefaultH2O = tc.def
			env := newTestEnv(t, nil, o)
			for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
				body := `{"model": "fake", "max_tokens": 3, "prompt": "abcdef"`
				if strings.Contains(path, "chat") {
					body = `{"model": "fake", "max_tokens": 3, "messages": [{"role": "user", "content": "abcdef"}]`
				}
				if tc.sdtp != "" {
					body += `, "sdtp": ` + tc.sdtp
				}
				body += "}"
				want := tc.status
				if want == 0 {
					want = http.StatusOK
				}
				var out struct {
					Usage usage `json:"usage"`
				}
				data := env.post(path, body, want, &out)
				if tc.status != 0 {
					if eb := checkErrorShape(t, data); string(eb.Error.Param) != `"`+tc.param+`"` {
						t.Errorf("%s: error param %s, want %s: %s", path, eb.Error.Param, tc.param, data)
					}
					continue
				}
				reqs := env.eng.requests()
				got := reqs[len(reqs)-1].H2O
				if name := h2oName(got); name != tc.want {
					t.Errorf("%s: engine got H2O %q, want %q", path, name, tc.want)
				}
				if sd := out.Usage.SDTP; sd.H2O != tc.want || (tc.want != "") != (sd.KVEvicted == 3) {
					t.Errorf("%s: usage %+v, want h2o %q", path, sd, tc.want)
				}
			}
			if tc.want != "" && !strings.Contains(env.logs.String(), `"h2o":"`+tc.want+`"`) {
				t.Errorf("the access log does not name the budget: %s", env.logs.String())
			}
		})
	}
}

// TestH2OServerDefaultChecked: a bad default budget is refused by New.
func TestH2OServerDefaultChecked(t *testing.T) {
	o := defaultOptions()
	o.DefaultH2O = &h2o.Budget{Keep: h2o.Amount{Fraction: 2}}
	if _, err := New(newFakeEngine(), o); err == nil || !strings.Contains(err.Error(), "H2O") {
		t.Fatalf("New with budget fraction 2: %v", err)
	}
}

// TestH2OModelEngine: on the real engine a request with a budget gets the
// answer generate.Run gives with that budget, and usage counts what was
// evicted.
func TestH2OModelEngine(t *testing.T) {
	m := testmodel.Tiny(t, backend.BF16, 3)
	sv := serve(t, &ModelEngine{Model: m, StopIDs: m.Config.StopIDs(nil)}, Options{ModelName: "tiny"})
	prompt := make([]int, 40)
	for i := range prompt {
		prompt[i] = 3 + (i*53)%500
	}
	budget := h2o.Budget{Keep: h2o.Amount{Fraction: 0.4}, Recent: h2o.DefaultRecent}
	want, err := generate.Run(context.Background(), m, idDecoder{}, generate.Request{Prompt: prompt, MaxTokens: 10, StopIDs: m.Config.StopIDs(nil), H2O: &budget})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"model": "tiny", "prompt": prompt, "max_tokens": 10, "temperature": 0, "sdtp": map[string]any{"h2o_budget": 0.4}})
	status, data, err := post(http.DefaultClient, sv.url+"/v1/completions", string(body))
	if err != nil || status != http.StatusOK {
		t.Fatalf("status %d, %v: %s", status, err, data)
	}
	var resp struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
		Usage usage `json:"usage"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Text != want.Text || resp.Usage.SDTP.KVEvicted != want.H2O.Evicted || want.H2O.Evicted == 0 {
		t.Errorf("answer %q, usage %+v; want %q with %d evicted", resp.Choices[0].Text, resp.Usage.SDTP, want.Text, want.H2O.Evicted)
	}
}

// TestH2OWithScoreTail: a prompt-scoring request under pruning may keep an
// H2O budget too; the engine gets both its continuation and the budget,
// and usage and the access log report both.
func TestH2OWithScoreTail(t *testing.T) {
	env := scoringEnv(t)
	body := map[string]any{"prompt": "abcdefghijklmnop", "max_tokens": 1, "echo": true, "logprobs": 1,
		"sdtp": map[string]any{"score_tail": 4, "h2o_budget": 0.4}}
	var out struct {
		Usage usage `json:"usage"`
	}
	env.post("/v1/completions", body, http.StatusOK, &out)
	req := env.eng.requests()[0]
	if req.Pruner == nil || req.Continuation != 4 || h2oName(req.H2O) != "0.4 recent 0.5" {
		t.Fatalf("engine got pruner %v, continuation %d, H2O %q", req.Pruner, req.Continuation, h2oName(req.H2O))
	}
	sd := out.Usage.SDTP
	if sd.ScoreTail == nil || *sd.ScoreTail != 4 || sd.UnscoredPromptTokens == nil || sd.H2O != "0.4 recent 0.5" || sd.KVEvicted != 3 {
		t.Errorf("usage %+v", sd)
	}
	if logs := env.logs.String(); !strings.Contains(logs, fmt.Sprintf(`"score_tail":4,"unscored_prompt_tokens":%d,"h2o":"0.4 recent 0.5","kv_evicted":3`, *sd.UnscoredPromptTokens)) {
		t.Errorf("the access log does not report both: %s", logs)
	}
}

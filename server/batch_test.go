package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testmodel"
)

// TestBatchServerLoad is the loopback load test of the batching server:
// the synthetic tiny model behind a BatchEngine on 127.0.0.1, 48 greedy
// completions from 8 clients over at most 8 connections, each request
// bounded in time. Every answer must be the text generate.Run gives that
// prompt alone, and some decode steps must have run several requests.
func TestBatchServerLoad(t *testing.T) {
	m := testmodel.Tiny(t, backend.BF16, 2)
	c := m.Config
	bt, err := generate.NewBatcher(m, generate.BatchOptions{MaxBatch: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close()
	const clients, total = 8, 48
	o := Options{ModelName: "tiny", MaxConcurrent: clients, Queue: total, MaxConnections: 2 * clients}
	sv := serve(t, &BatchEngine{Batcher: bt, StopIDs: c.StopIDs(nil)}, o)

	r := rand.New(rand.NewPCG(5, 6))
	prompts := make([][]int, total)
	want := make([]string, total)
	for i := range prompts {
		prompts[i] = make([]int, 1+r.IntN(40))
		for j := range prompts[i] {
			prompts[i][j] = 3 + r.IntN(c.Vocab-3)
		}
		res, err := generate.Run(context.Background(), m, idDecoder{}, generate.Request{Prompt: prompts[i], MaxTokens: 12 + i%9, StopIDs: c.StopIDs(nil)})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Text
	}

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxConnsPerHost: clients, MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	work := make(chan int)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range work {
				body, _ := json.Marshal(map[string]any{"model": "tiny", "prompt": prompts[i], "max_tokens": 12 + i%9, "temperature": 0})
				status, data, err := post(client, sv.url+"/v1/completions", string(body))
				if err != nil || status != http.StatusOK {
					t.Errorf("request %d: status %d, %v: %s", i, status, err, data)
					continue
				}
				var resp struct {
					Choices []struct {
						Text string `json:"text"`
					} `json:"choices"`
				}
				if err := json.Unmarshal(data, &resp); err != nil || len(resp.Choices) != 1 {
					t.Errorf("request %d: %v: %s", i, err, data)
					continue
				}
				if got := resp.Choices[0].Text; got != want[i] {
					t.Errorf("request %d: batched answer %q, alone %q", i, got, want[i])
				}
			}
		})
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	st := bt.Stats()
	t.Logf("batcher: %+v", st)
	if st.PeakBatch < 2 {
		t.Errorf("no decode step ran two requests at once: %+v", st)
	}
	if st.Active != 0 || st.Waiting != 0 {
		t.Errorf("requests left in the batcher: %+v", st)
	}
	if err := sv.stop(t); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestBatchEngineInfo: the batching engine describes its model as
// ModelEngine does.
func TestBatchEngineInfo(t *testing.T) {
	m := testmodel.Tiny(t, backend.BF16, 1)
	bt, err := generate.NewBatcher(m, generate.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close()
	a, e := (&ModelEngine{Model: m, StopIDs: []int{2}}).Info(), (&BatchEngine{Batcher: bt, StopIDs: []int{2}}).Info()
	if fmt.Sprint(a) != fmt.Sprint(e) {
		t.Errorf("ModelEngine %+v, BatchEngine %+v", a, e)
	}
}

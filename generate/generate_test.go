package generate

import (
	"math"
	"strings"
	"testing"
)

func TestArgmaxLowestOnTies(t *testing.T) {
	if got := Argmax([]float32{1, 3, 3, float32(math.NaN())}); got != 1 {
		t.Fatalf("argmax = %d, want 1", got)
	}
}

func TestSamplerTopKOneIsGreedy(t *testing.T) {
	logits := []float32{0.1, 2, -1, 1.9, 0}
	sm := newSampler(Sampling{Temperature: 1.5, TopK: 1, Seed: 3})
	for i := 0; i < 50; i++ {
		if got := sm.next(logits); got != 1 {
			t.Fatalf("top-k 1 drew %d", got)
		}
	}
}

func TestSamplerSeededAndDistribution(t *testing.T) {
	logits := []float32{0, float32(math.Log(3)), -100}
	draw := func(seed uint64) []int {
		sm := newSampler(Sampling{Temperature: 1, Seed: seed})
		out := make([]int, 4000)
		for i := range out {
			out[i] = sm.next(logits)
		}
		return out
	}
	a, b := draw(9), draw(9)
	count := [3]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed gave different draws")
		}
		count[a[i]]++
	}
	// p = 1/4, 3/4, ~0
	if f := float64(count[1]) / 4000; math.Abs(f-0.75) > 0.03 || count[2] != 0 {
		t.Fatalf("counts %v, want about 1000/3000/0", count)
	}
}

func TestSamplerTopP(t *testing.T) {
	// probabilities 0.5, 0.3, 0.2: top-p 0.6 keeps the first two only.
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.2))}
	sm := newSampler(Sampling{Temperature: 1, TopP: 0.6, Seed: 1})
	for i := 0; i < 2000; i++ {
		if sm.next(logits) == 2 {
			t.Fatal("top-p 0.6 drew the third token")
		}
	}
}

// byteDecoder decodes ids as bytes, so tokens can split UTF-8 sequences.
type byteDecoder struct{}

func (byteDecoder) Decode(ids []int) string {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func TestStopperStreamsAndStops(t *testing.T) {
	tests := []struct {
		in      string
		stops   []string
		want    string
		stopped bool
	}{
		{"hello world", nil, "hello world", false},
		{"hello\nworld", []string{"\n"}, "hello", true},
		{"abcSTOPdef", []string{"STOP"}, "abc", true},
		{"abcSTdef", []string{"STOP"}, "abcSTdef", false},
		{"héllo wörld", []string{"xyz"}, "héllo wörld", false},
		{"日本語です。終", []string{"。"}, "日本語です", true},
	}
	for _, tc := range tests {
		var chunks []string
		st := newStopper(byteDecoder{}, tc.stops, func(s string) error { chunks = append(chunks, s); return nil })
		stopped := false
		for _, c := range []byte(tc.in) {
			done, err := st.push(int(c))
			if err != nil {
				t.Fatal(err)
			}
			if done {
				stopped = true
				break
			}
		}
		text, err := st.finish()
		if err != nil {
			t.Fatal(err)
		}
		if text != tc.want || stopped != tc.stopped {
			t.Errorf("%q stops %q: text %q stopped %v, want %q %v", tc.in, tc.stops, text, stopped, tc.want, tc.stopped)
		}
		joined := strings.Join(chunks, "")
		if joined != text {
			t.Errorf("%q: streamed %q, final %q", tc.in, joined, text)
		}
		for _, c := range chunks {
			if strings.ContainsRune(c, '\uFFFD') {
				t.Errorf("%q: streamed a broken UTF-8 chunk %q", tc.in, c)
			}
		}
	}
}

func TestTopAlts(t *testing.T) {
	lp := []float64{-3, -0.5, -2, -0.5, -9}
	got := topAlts(lp, 3)
	if len(got) != 3 || got[0].ID != 1 || got[1].ID != 3 || got[2].ID != 2 {
		t.Fatalf("top alts %v", got)
	}
}

func TestLogSoftmaxSumsToOne(t *testing.T) {
	lp := LogSoftmax([]float32{1000, 1001, -5})
	var s float64
	for _, v := range lp {
		s += math.Exp(v)
	}
	if math.Abs(s-1) > 1e-12 {
		t.Fatalf("probabilities sum to %v", s)
	}
}

func TestSummaryNullsNonFiniteLogprobs(t *testing.T) {
	r := &Result{Tokens: []Token{{ID: 3, Logprob: -0.5}, {ID: 4, Logprob: math.NaN()}, {ID: 5, Logprob: math.Inf(-1)}}, Alive: []int{9, 7}}
	s, bad := r.Summary("m", "cpu (x)", false)
	if bad != 2 || len(s.Logprobs) != 3 || *s.Logprobs[0] != -0.5 || s.Logprobs[1] != nil || s.Logprobs[2] != nil || s.Alive != nil || len(s.TokenIDs) != 3 {
		t.Errorf("summary %+v, %d non-finite", s, bad)
	}
	if s, _ := r.Summary("m", "cpu", true); len(s.Alive) != 2 {
		t.Errorf("pruned summary lacks the alive counts: %+v", s)
	}
}

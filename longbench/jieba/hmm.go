package jieba

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The four HMM states of jieba's finalseg, in the order its Viterbi loop
// visits them ("BMES"). Their byte values order them as Python compares the
// one-letter strings.
const (
	stB = iota
	stM
	stE
	stS
	nStates
)

var stateLetter = [nStates]byte{'B', 'M', 'E', 'S'}

// prevStates is finalseg's PrevStatus: the states allowed before each state.
var prevStates = [nStates][2]int{
	stB: {stE, stS},
	stM: {stM, stB},
	stS: {stS, stE},
	stE: {stB, stM},
}

// minFloat is finalseg's MIN_FLOAT, the log-probability of anything unseen.
const minFloat = -3.14e100

// hmm holds finalseg's start, transition and emission log-probabilities.
type hmm struct {
	start [nStates]float64
	trans [nStates][nStates]float64 // minFloat where jieba has no entry
	emit  [nStates]map[rune]float64
}

func stateIndex(s string) (int, bool) {
	for i, l := range stateLetter {
		if s == string(l) {
			return i, true
		}
	}
	return 0, false
}

// loadHMM reads the start/transition table and the gzipped emission table
// (formats in data/README.md).
func loadHMM(startTrans io.Reader, emitGz []byte) (*hmm, error) {
	m := &hmm{}
	for i := range m.trans {
		for j := range m.trans[i] {
			m.trans[i][j] = minFloat
		}
		m.emit[i] = make(map[rune]float64)
	}
	sc := bufio.NewScanner(startTrans)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		if t == "" || t[0] == '#' {
			continue
		}
		f := strings.Split(t, "\t")
		bad := fmt.Errorf("jieba: hmm_start_trans.tsv line %d: malformed %q", line, t)
		switch {
		case f[0] == "start" && len(f) == 3:
			s, ok := stateIndex(f[1])
			p, err := strconv.ParseFloat(f[2], 64)
			if !ok || err != nil {
				return nil, bad
			}
			m.start[s] = p
		case f[0] == "trans" && len(f) == 4:
			a, ok1 := stateIndex(f[1])
			b, ok2 := stateIndex(f[2])
			p, err := strconv.ParseFloat(f[3], 64)
			if !ok1 || !ok2 || err != nil {
				return nil, bad
			}
			m.trans[a][b] = p
		default:
			return nil, bad
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("jieba: hmm_start_trans.tsv: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(emitGz))
	if err != nil {
		return nil, fmt.Errorf("jieba: hmm_emit.tsv.gz: %w", err)
	}
	sc = bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 || utf8.RuneCountInString(f[1]) != 1 {
			return nil, fmt.Errorf("jieba: hmm_emit.tsv line %d: malformed %q", line, sc.Text())
		}
		s, ok := stateIndex(f[0])
		p, err := strconv.ParseFloat(f[2], 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("jieba: hmm_emit.tsv line %d: malformed %q", line, sc.Text())
		}
		r, _ := utf8.DecodeRuneInString(f[1])
		m.emit[s][r] = p
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("jieba: hmm_emit.tsv: %w", err)
	}
	return m, nil
}

func (m *hmm) emitP(s int, r rune) float64 {
	if p, ok := m.emit[s][r]; ok {
		return p
	}
	return minFloat
}

// viterbi returns the most likely state of each rune of obs, as finalseg's
// viterbi does, including its tie-breaking (Python's max over (prob, state)
// tuples picks the larger state letter on equal probabilities).
func (m *hmm) viterbi(obs []rune) []int {
	n := len(obs)
	v := make([][nStates]float64, n)
	back := make([][nStates]int, n)
	for y := range nStates {
		v[0][y] = m.start[y] + m.emitP(y, obs[0])
	}
	for t := 1; t < n; t++ {
		for y := range nStates {
			em := m.emitP(y, obs[t])
			best, bestState := 0.0, -1
			for _, y0 := range prevStates[y] {
				p := v[t-1][y0] + m.trans[y0][y] + em
				if bestState < 0 || p > best || (p == best && stateLetter[y0] > stateLetter[bestState]) {
					best, bestState = p, y0
				}
			}
			v[t][y] = best
			back[t][y] = bestState
		}
	}
	last := stE
	if v[n-1][stS] >= v[n-1][stE] { // max((V[y], y) for y in "ES"): ties go to "S"
		last = stS
	}
	path := make([]int, n)
	path[n-1] = last
	for t := n - 1; t > 0; t-- {
		path[t-1] = back[t][path[t]]
	}
	return path
}

// cutHan segments a run of Han characters with the HMM (finalseg.__cut).
func (m *hmm) cutHan(sentence []rune, out []string) []string {
	pos := m.viterbi(sentence)
	begin, next := 0, 0
	for i, p := range pos {
		switch p {
		case stB:
			begin = i
		case stE:
			out = append(out, string(sentence[begin:i+1]))
			next = i + 1
		case stS:
			out = append(out, string(sentence[i]))
			next = i + 1
		}
	}
	if next < len(sentence) {
		out = append(out, string(sentence[next:]))
	}
	return out
}

// isHMMHan is finalseg's re_han class [\u4E00-\u9FD5].
func isHMMHan(r rune) bool { return r >= 0x4E00 && r <= 0x9FD5 }

// cutUnknown is finalseg.cut: Han runs go through the HMM, the rest is split
// by ([a-zA-Z0-9]+(?:\.\d+)?%?) with every non-empty piece kept.
func (m *hmm) cutUnknown(text []rune, out []string) []string {
	for i := 0; i < len(text); {
		j := i
		if isHMMHan(text[i]) {
			for j < len(text) && isHMMHan(text[j]) {
				j++
			}
			out = m.cutHan(text[i:j], out)
		} else {
			for j < len(text) && !isHMMHan(text[j]) {
				j++
			}
			out = splitAlnum(text[i:j], out)
		}
		i = j
	}
	return out
}

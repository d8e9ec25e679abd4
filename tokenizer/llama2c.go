package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
)

// PiecePrinter is implemented by tokenizers read from llama2.c files: it
// gives the text llama2.c's run prints for each sampled token, so that a
// generation can be compared with llama2.c's output byte for byte
// (tokenizer.Load returns a *Llama2C for .bin files; assert to this).
type PiecePrinter interface {
	// PrintPiece is what llama2.c prints when it samples id after prev.
	PrintPiece(prev, id int) string
}

var _ PiecePrinter = (*Llama2C)(nil)

// Llama2C is a tokenizer read from a llama2.c tokenizer.bin (or
// tok512.bin). It encodes as llama2.c's encode does (a dummy-prefix space,
// merges of the best-scoring adjacent pair, "<0xXX>" byte fallback) and
// adds DecodePiece, which decodes the way llama2.c prints.
type Llama2C struct {
	*BPE
	pieces []string // pieces exactly as stored in the file
}

// maxPieceLen bounds the length of one stored piece.
const maxPieceLen = 1 << 16

// LoadLlama2C reads a llama2.c tokenizer file: int32 max_token_len, then
// for every token a float32 score, an int32 length and the bytes, to the
// end of the file (little-endian).
func LoadLlama2C(path string) (*Llama2C, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ParseLlama2C(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	t.source = path
	return t, nil
}

// ParseLlama2C builds a tokenizer from the bytes of a llama2.c tokenizer file.
func ParseLlama2C(data []byte) (*Llama2C, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("file too short for the max_token_len header (%d bytes)", len(data))
	}
	var pieces []string
	var scores []float32
	for off := 4; off < len(data); {
		id := len(pieces)
		if len(data)-off < 8 {
			return nil, fmt.Errorf("token %d: truncated header at byte %d", id, off)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int32(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		if n < 0 || n > maxPieceLen || int(n) > len(data)-off {
			return nil, fmt.Errorf("token %d: length %d at byte %d runs past the end of the file", id, n, off-4)
		}
		if id >= maxTokenID {
			return nil, fmt.Errorf("more than %d tokens", maxTokenID)
		}
		pieces = append(pieces, string(data[off:off+int(n)]))
		scores = append(scores, score)
		off += int(n)
	}
	if len(pieces) < 3 {
		return nil, fmt.Errorf("only %d tokens; want at least <unk>, <s>, </s>", len(pieces))
	}

	t := &BPE{
		tokens:       make([]string, len(pieces)),
		vocab:        make(map[string]int32, len(pieces)),
		added:        map[string]*addedToken{},
		special:      make([]bool, len(pieces)),
		unk:          -1,
		bos:          1,
		eos:          []int{1, 2},
		byteFallback: true,
		llamaChars:   true,
		norm:         prepend{" "},
		post:         []postItem{{ids: []int{1}}, {}},
		dec:          decSequence{byteFallbackDec{}, fuseDec{}, stripDec{content: ' ', start: 1}},
	}
	for id, p := range pieces {
		if _, dup := t.vocab[p]; !dup {
			t.vocab[p] = int32(id)
		}
		t.tokens[id] = p
	}
	// Ids 0, 1, 2 are <unk>, <s>, </s>; llama2.c's export stores the last
	// two as "\n<s>\n" and "\n</s>\n". They are special and matched in text.
	var specials []*addedToken
	for id, name := range []string{"<unk>", "<s>", "</s>"} {
		if strings.TrimSpace(pieces[id]) != name {
			continue
		}
		a := &addedToken{Content: name, ID: id, Special: true}
		t.added[name] = a
		t.tokens[id] = name
		t.special[id] = true
		specials = append(specials, a)
	}
	t.rawMatch = newMatcher(specials)
	t.model = newBPE(scoreMerges(pieces, scores, t.vocab))
	t.setupSymbols()
	if safeCut(t.vocab, " ") {
		t.cutSep = " "
	}
	t.maxBytes = t.tokenBytesBound()
	return &Llama2C{BPE: t, pieces: pieces}, nil
}

// scoreMerges turns llama2.c's scores into ranked merges: every split of a
// token into two tokens is a pair that merges into it, ranked by the merged
// token's score (higher first; equal scores share a rank, so the leftmost
// pair wins as in llama2.c's scan). Scores at or below -1e10 never merge.
func scoreMerges(pieces []string, scores []float32, vocab map[string]int32) map[uint64]merge {
	distinct := append([]float32(nil), scores...)
	sort.Slice(distinct, func(i, j int) bool { return distinct[i] > distinct[j] })
	rank := map[float32]int32{}
	for _, s := range distinct {
		if _, ok := rank[s]; !ok {
			rank[s] = int32(len(rank))
		}
	}
	merges := map[uint64]merge{}
	for id, p := range pieces {
		if scores[id] <= -1e10 || vocab[p] != int32(id) {
			continue
		}
		for k := 1; k < len(p); k++ {
			a, okA := vocab[p[:k]]
			b, okB := vocab[p[k:]]
			if okA && okB {
				merges[pairKey(a, b)] = merge{rank: rank[scores[id]], id: int32(id)}
			}
		}
	}
	return merges
}

// DecodePiece returns the text llama2.c's decode gives for token id
// following prev: the stored piece, without its leading space right after
// BOS (id 1), and a "<0xXX>" piece as the raw byte. Unknown ids give "".
func (t *Llama2C) DecodePiece(prev, id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	p := t.pieces[id]
	if prev == 1 && strings.HasPrefix(p, " ") {
		p = p[1:]
	}
	if b, ok := scanByte(p); ok {
		return string([]byte{b})
	}
	return p
}

// scanByte mimics sscanf(piece, "<0x%02hhX>", &b) == 1: the literal "<0x"
// then one or two hex digits.
func scanByte(p string) (byte, bool) {
	if !strings.HasPrefix(p, "<0x") {
		return 0, false
	}
	v, n := 0, 0
	for _, c := range []byte(p[3:]) {
		if n == 2 {
			break
		}
		d, ok := hexDigit(c)
		if !ok {
			break
		}
		v = v*16 + d
		n++
	}
	return byte(v), n > 0
}

func hexDigit(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// SafePiece is what llama2.c's safe_printf prints for a piece: nothing for
// an empty piece or for a single byte that is neither printable ASCII nor
// whitespace, the piece itself otherwise.
func SafePiece(p string) string {
	if p == "" || p[0] == 0 {
		return ""
	}
	if len(p) == 1 {
		c := p[0]
		printable := c >= 0x20 && c <= 0x7E
		space := c == ' ' || (c >= '\t' && c <= '\r')
		if !printable && !space {
			return ""
		}
	}
	return p
}

// PrintPiece is what llama2.c prints when it samples id after prev:
// SafePiece(DecodePiece(prev, id)).
func (t *Llama2C) PrintPiece(prev, id int) string { return SafePiece(t.DecodePiece(prev, id)) }

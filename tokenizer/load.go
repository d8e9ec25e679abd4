package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxTokenID bounds ids read from files, so that a corrupt file cannot ask
// for a huge table.
const maxTokenID = 1 << 22

type tokenizerFile struct {
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *modelFile      `json:"model"`
}

type modelFile struct {
	Type                    string          `json:"type"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	ByteFallback            bool            `json:"byte_fallback"`
	FuseUnk                 bool            `json:"fuse_unk"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
}

// LoadJSON reads a Hugging Face tokenizer.json, and the
// tokenizer_config.json and generation_config.json beside it when present.
func LoadJSON(path string) (*BPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ParseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	t.source = path
	dir := filepath.Dir(path)
	cfg, err := readConfig(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, err
	}
	gen, err := readGenerationConfig(filepath.Join(dir, "generation_config.json"))
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, err
	}
	t.applyConfig(cfg, gen)
	return t, nil
}

// ParseJSON builds a tokenizer from the bytes of a tokenizer.json, without
// companion files: BOS comes from the post-processor and EOS from the
// usual end-of-text special tokens.
func ParseJSON(data []byte) (*BPE, error) {
	var f tokenizerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	if f.Model == nil {
		return nil, fmt.Errorf("field model: missing")
	}
	m := f.Model
	if m.Type != "BPE" && !(m.Type == "" && len(m.Merges) > 0) {
		return nil, fmt.Errorf("field model.type: %q is not supported (only BPE)", m.Type)
	}
	if (m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "") ||
		(m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "") {
		return nil, fmt.Errorf("field model: continuing_subword_prefix and end_of_word_suffix are not supported")
	}
	t := &BPE{
		vocab:        make(map[string]int32, len(m.Vocab)),
		added:        map[string]*addedToken{},
		unk:          -1,
		bos:          -1,
		byteFallback: m.ByteFallback,
		fuseUnk:      m.FuseUnk,
		ignoreMerges: m.IgnoreMerges,
	}
	size := 0
	for tok, id := range m.Vocab {
		if id < 0 || id >= maxTokenID {
			return nil, fmt.Errorf("field model.vocab: id %d of %q out of range", id, tok)
		}
		size = max(size, id+1)
	}
	for i, a := range f.AddedTokens {
		if a.ID < 0 || a.ID >= maxTokenID {
			return nil, fmt.Errorf("field added_tokens[%d]: id %d out of range", i, a.ID)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("field added_tokens[%d]: empty content", i)
		}
		size = max(size, a.ID+1)
	}
	t.tokens = make([]string, size)
	t.special = make([]bool, size)
	// Deterministic order: when two strings claim one id, the smaller wins.
	keys := make([]string, 0, len(m.Vocab))
	for tok := range m.Vocab {
		keys = append(keys, tok)
	}
	sort.Strings(keys)
	for _, tok := range keys {
		id := m.Vocab[tok]
		t.vocab[tok] = int32(id)
		if t.tokens[id] == "" {
			t.tokens[id] = tok
		}
	}
	var raw, normed []*addedToken
	for i := range f.AddedTokens {
		a := &f.AddedTokens[i]
		t.added[a.Content] = a
		t.tokens[a.ID] = a.Content
		t.special[a.ID] = a.Special
		if a.Normalized {
			normed = append(normed, a)
		} else {
			raw = append(raw, a)
		}
	}
	if m.UnkToken != nil {
		id, ok := t.vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("field model.unk_token: %q is not in the vocabulary", *m.UnkToken)
		}
		t.unk = id
	}

	var err error
	if t.norm, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("field %w", err)
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer, &t.byteLevel); err != nil {
		return nil, fmt.Errorf("field %w", err)
	}
	if t.dec, err = parseDecoder(f.Decoder); err != nil {
		return nil, fmt.Errorf("field %w", err)
	}
	if t.post, err = parsePostProcessor(f.PostProcessor, t); err != nil {
		return nil, fmt.Errorf("field %w", err)
	}
	t.rawMatch = newMatcher(raw)
	// Normalized added tokens are matched in normalized text, so their
	// content goes through the normalizer too.
	normCopies := make([]*addedToken, 0, len(normed))
	for _, a := range normed {
		c := *a
		if t.norm != nil {
			c.Content = t.norm.normalize(c.Content)
		}
		normCopies = append(normCopies, &c)
	}
	t.normMatch = newMatcher(normCopies)

	merges, err := parseMerges(m.Merges, t.vocab)
	if err != nil {
		return nil, err
	}
	t.model = newBPE(merges)
	t.setupSymbols()
	t.setupDecode()
	if !t.byteLevel && t.pre == nil && safeCut(t.vocab, "▁") {
		t.cutSep = "▁"
	}
	t.maxBytes = t.tokenBytesBound()
	t.eos = defaultEOS(t)
	if len(t.post) > 0 && len(t.post[0].ids) > 0 {
		t.bos = t.post[0].ids[0]
	}
	return t, nil
}

// setupSymbols fills the byte tables used to start a word.
func (t *BPE) setupSymbols() {
	for b := 0; b < 256; b++ {
		t.byteIDs[b] = -1
		t.fallbackIDs[b] = -1
		if id, ok := t.vocab[string(byteToRune[b])]; ok {
			t.byteIDs[b] = id
		}
		if id, ok := t.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.fallbackIDs[b] = id
		}
	}
	if t.byteLevel && t.ignoreMerges {
		t.rawVocab = make(map[string]int32, len(t.vocab))
		for tok, id := range t.vocab {
			t.rawVocab[string(byteLevelDecode(tok))] = id
		}
	}
}

// setupDecode prepares the byte-level fast path.
func (t *BPE) setupDecode() {
	if _, ok := t.dec.(byteLevelDec); !ok {
		return
	}
	t.byteOnly = true
	t.tokBytes = make([][]byte, len(t.tokens))
	for id, tok := range t.tokens {
		t.tokBytes[id] = byteLevelDecode(tok)
	}
}

// parseMerges reads model.merges, either ["a b", ...] or [["a","b"], ...];
// a merge's rank is its index, and a later duplicate replaces an earlier one.
func parseMerges(raw json.RawMessage, vocab map[string]int32) (map[uint64]merge, error) {
	if isNull(raw) {
		return map[uint64]merge{}, nil
	}
	var pairs [][2]string
	var flat []string
	if err := json.Unmarshal(raw, &flat); err == nil {
		pairs = make([][2]string, len(flat))
		for i, s := range flat {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("field model.merges[%d]: %q is not two tokens separated by a space", i, s)
			}
			pairs[i] = [2]string{a, b}
		}
	} else {
		var nested [][]string
		if err := json.Unmarshal(raw, &nested); err != nil {
			return nil, fmt.Errorf("field model.merges: %w", err)
		}
		pairs = make([][2]string, len(nested))
		for i, p := range nested {
			if len(p) != 2 {
				return nil, fmt.Errorf("field model.merges[%d]: want 2 tokens, have %d", i, len(p))
			}
			pairs[i] = [2]string{p[0], p[1]}
		}
	}
	merges := make(map[uint64]merge, len(pairs))
	for i, p := range pairs {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		c, okC := vocab[p[0]+p[1]]
		if !okA || !okB || !okC {
			return nil, fmt.Errorf("field model.merges[%d]: %q %q: token not in the vocabulary", i, p[0], p[1])
		}
		merges[pairKey(a, b)] = merge{rank: int32(i), id: c}
	}
	return merges, nil
}

type postJSON struct {
	Type          string            `json:"type"`
	Single        []json.RawMessage `json:"single"`
	SpecialTokens map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"`
	Processors []json.RawMessage `json:"processors"`
	Cls        []json.RawMessage `json:"cls"`
	Sep        []json.RawMessage `json:"sep"`
}

type templateItemJSON struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

// parsePostProcessor reads the single-sequence template of
// "post_processor"; processors that add nothing give nil.
func parsePostProcessor(raw json.RawMessage, t *BPE) ([]postItem, error) {
	pj, err := parseComponent[postJSON](raw, "post_processor")
	if pj == nil || err != nil {
		return nil, err
	}
	switch pj.Type {
	case "ByteLevel":
		return nil, nil
	case "Sequence":
		var out []postItem
		for i, sub := range pj.Processors {
			items, err := parsePostProcessor(sub, t)
			if err != nil {
				return nil, fmt.Errorf("post_processor Sequence[%d]: %w", i, err)
			}
			if items != nil {
				if out != nil {
					return nil, fmt.Errorf("post_processor Sequence: more than one template")
				}
				out = items
			}
		}
		return out, nil
	case "TemplateProcessing":
		var out []postItem
		for i, rawItem := range pj.Single {
			var it templateItemJSON
			if err := json.Unmarshal(rawItem, &it); err != nil {
				return nil, fmt.Errorf("post_processor single[%d]: %w", i, err)
			}
			switch {
			case it.Sequence != nil:
				out = append(out, postItem{})
			case it.SpecialToken != nil:
				st, ok := pj.SpecialTokens[it.SpecialToken.ID]
				if !ok || len(st.IDs) == 0 {
					return nil, fmt.Errorf("post_processor single[%d]: special token %q has no ids", i, it.SpecialToken.ID)
				}
				for _, id := range st.IDs {
					if id < 0 || id >= len(t.tokens) {
						return nil, fmt.Errorf("post_processor single[%d]: id %d out of range", i, id)
					}
				}
				out = append(out, postItem{ids: st.IDs})
			default:
				return nil, fmt.Errorf("post_processor single[%d]: neither SpecialToken nor Sequence", i)
			}
		}
		return out, nil
	case "RobertaProcessing", "BertProcessing":
		var cls, sep struct{ id int }
		for _, p := range []struct {
			raw []json.RawMessage
			dst *struct{ id int }
		}{{pj.Cls, &cls}, {pj.Sep, &sep}} {
			if len(p.raw) != 2 {
				return nil, fmt.Errorf("post_processor %s: cls/sep must be [token, id]", pj.Type)
			}
			if err := json.Unmarshal(p.raw[1], &p.dst.id); err != nil {
				return nil, fmt.Errorf("post_processor %s: %w", pj.Type, err)
			}
			if p.dst.id < 0 || p.dst.id >= len(t.tokens) {
				return nil, fmt.Errorf("post_processor %s: id %d out of range", pj.Type, p.dst.id)
			}
		}
		return []postItem{{ids: []int{cls.id}}, {}, {ids: []int{sep.id}}}, nil
	}
	return nil, fmt.Errorf("post_processor: unsupported type %q", pj.Type)
}

// endOfTextTokens are special tokens that end generation in the families
// sdtp runs, used for EOS when no config file says otherwise.
var endOfTextTokens = []string{"</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>"}

func defaultEOS(t *BPE) []int {
	var eos []int
	for _, s := range endOfTextTokens {
		if a, ok := t.added[s]; ok && a.Special {
			eos = append(eos, a.ID)
		}
	}
	return eos
}

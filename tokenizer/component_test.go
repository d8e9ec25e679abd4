package tokenizer

import (
	"encoding/json"
	"testing"
)

// TestComponentErrorsAndNulls checks what the four tokenizer.json
// components share: null gives no component, a member of a Sequence that
// fails is named by its index, null members are left out.
func TestComponentErrorsAndNulls(t *testing.T) {
	var byteLevel bool
	parse := map[string]func(json.RawMessage) (any, error){
		"normalizer": func(r json.RawMessage) (any, error) { return parseNormalizer(r) },
		"pre_tokenizer": func(r json.RawMessage) (any, error) {
			return parsePreTokenizer(r, &byteLevel)
		},
		"decoder": func(r json.RawMessage) (any, error) { return parseDecoder(r) },
	}
	members := map[string]string{"normalizer": "normalizers", "pre_tokenizer": "pretokenizers", "decoder": "decoders"}
	for what, p := range parse {
		for _, raw := range []string{"", "null", " null "} {
			if c, err := p(json.RawMessage(raw)); err != nil || c != nil {
				t.Errorf("%s %q: %v, %v; want nothing", what, raw, c, err)
			}
		}
		if _, err := p(json.RawMessage(`[1]`)); err == nil || err.Error()[:len(what)+1] != what+":" {
			t.Errorf("%s of the wrong JSON type: error %v, want one naming %s", what, err, what)
		}
		bad := `{"type":"Sequence","` + members[what] + `":[null,{"type":"NoSuchType"}]}`
		want := what + ` Sequence[1]: ` + what + `: unsupported type "NoSuchType"`
		if _, err := p(json.RawMessage(bad)); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", what, err, want)
		}
	}
	seq, err := parseDecoder(json.RawMessage(`{"type":"Sequence","decoders":[null,{"type":"Fuse"},null]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := seq.(decSequence); !ok || len(s) != 1 {
		t.Errorf("decoder Sequence with null members: %#v, want the one Fuse", seq)
	}
	if items, err := parsePostProcessor(json.RawMessage("null"), nil); items != nil || err != nil {
		t.Errorf("post_processor null: %v, %v", items, err)
	}
}

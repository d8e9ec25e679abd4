package tokenizer

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

func TestLlama2CVectors(t *testing.T) {
	tok, err := LoadLlama2C(testdata.Path(t, "llama2c/tokenizer.bin"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(testdata.Path(t, "llama2c/tokenizer_bin_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 5 {
		t.Errorf("read %d cases, want 5", len(cases))
	}
	for _, c := range cases {
		got := tok.EncodeWithSpecial(c.Text)
		if !slices.Equal(got, c.IDs) {
			t.Errorf("%q:\n got %v\nwant %v", c.Text, got, c.IDs)
		}
		// The text comes back, as SentencePiece decodes it: BOS rendered,
		// and the dummy-prefix space dropped from the start.
		if back := tok.DecodeSkipSpecial(got); back != c.Text {
			t.Errorf("decode(encode(%q)) = %q", c.Text, back)
		}
	}
}

// TestLlama2CPrintPiece checks PrintPiece against llama2.c's decode and
// safe_printf rules on tok512.bin.
func TestLlama2CPrintPiece(t *testing.T) {
	tok, err := LoadLlama2C(testdata.Path(t, "llama2c/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 512 {
		t.Fatalf("VocabSize = %d, want 512", tok.VocabSize())
	}
	space := -1
	for id := 259; id < 512; id++ {
		if p := tok.TokenText(id); len(p) > 1 && p[0] == ' ' {
			space = id
			break
		}
	}
	if space < 0 {
		t.Fatal("no piece with a leading space in tok512.bin")
	}
	piece := tok.TokenText(space)
	nl, _ := tok.ID("<0x0A>")
	high, _ := tok.ID("<0xE2>")
	ctrl, _ := tok.ID("<0x01>")
	for _, c := range []struct {
		name      string
		prev, id  int
		want      string
		wantPrint string
	}{
		{"leading space stripped after BOS", 1, space, piece[1:], piece[1:]},
		{"leading space kept elsewhere", space, space, piece, piece},
		{"byte token is the byte", space, nl, "\n", "\n"},
		{"high byte decoded but not printed", space, high, "\xe2", ""},
		{"control byte decoded but not printed", space, ctrl, "\x01", ""},
		{"unknown id", space, 512, "", ""},
	} {
		if got := tok.DecodePiece(c.prev, c.id); got != c.want {
			t.Errorf("%s: DecodePiece = %q, want %q", c.name, got, c.want)
		}
		if got := tok.PrintPiece(c.prev, c.id); got != c.wantPrint {
			t.Errorf("%s: PrintPiece = %q, want %q", c.name, got, c.wantPrint)
		}
	}
	// Encoding the expected stories260K output and printing it piece by
	// piece after BOS reproduces it: the pieces concatenate to the text.
	want, err := os.ReadFile(testdata.Path(t, "llama2c/expected_stories260K_t0_n200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.EncodeWithSpecial(string(want))
	var got []byte
	for i := 1; i < len(ids); i++ {
		got = append(got, tok.PrintPiece(ids[i-1], ids[i])...)
	}
	if string(got) != string(want) {
		t.Errorf("printing the encoded text gives\n%q\nwant\n%q", got, want)
	}
}

func TestParseLlama2CErrors(t *testing.T) {
	entry := func(score float32, s string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, math.Float32bits(score))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	header := binary.LittleEndian.AppendUint32(nil, 8)
	good := append(append(append(append([]byte{}, header...), entry(0, "<unk>")...), entry(0, "\n<s>\n")...), entry(0, "\n</s>\n")...)
	for _, c := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"empty", nil, false},
		{"header only", header, false},
		{"three tokens", good, true},
		{"truncated entry", good[:len(good)-2], false},
		{"truncated length", append(append([]byte{}, good...), 0, 0, 0, 0, 5), false},
		{"negative length", append(append([]byte{}, good...), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), false},
	} {
		_, err := ParseLlama2C(c.data)
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func FuzzParseLlama2C(f *testing.F) {
	f.Add([]byte{8, 0, 0, 0})
	f.Add(binary.LittleEndian.AppendUint32([]byte{8, 0, 0, 0, 0, 0, 0, 0}, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseLlama2C(data)
		if err != nil {
			return
		}
		ids := tok.EncodeWithSpecial("hello <s> wörld \x00\xff")
		_ = tok.Decode(ids)
		for id := -1; id <= tok.VocabSize(); id++ {
			_ = tok.PrintPiece(1, id)
		}
	})
}

// TestLlama2CStream decodes a valid text id by id: the pieces add up to
// Decode, and the first piece has its dummy-prefix space removed.
func TestLlama2CStream(t *testing.T) {
	tok, err := LoadLlama2C(testdata.Path(t, "llama2c/tokenizer.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"Hello world", "Translate: peppermint => menthe poivrée\n  中文 🦙!"} {
		ids := tok.Encode(text)
		st := tok.NewStream()
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(st.Push(id))
		}
		b.WriteString(st.Flush())
		if got := b.String(); got != text || got != tok.Decode(ids) {
			t.Errorf("stream %q, Decode %q, want %q", got, tok.Decode(ids), text)
		}
	}
}

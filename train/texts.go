package train

import (
	"fmt"

	"github.com/sdtp/sdtp/tokenizer"
	"github.com/sdtp/sdtp/train/data"
)

// Texts are the tokenized texts of a data file that a command trains,
// evaluates or measures saliency on, with the frozen model they are for.
type Texts struct {
	Model Frozen
	// IDs are each text's token ids; Lines their lines in the data file.
	IDs   [][]int
	Lines []int
	// Read counts the texts in the file (after Limit); Skipped those
	// shorter than MinTokens, which IDs leaves out.
	Read, Skipped int

	close func() error
}

// Close releases the model (its GPU memory).
func (t *Texts) Close() error { return t.close() }

// TextOptions say which texts to read, how to cut them and where the model
// runs. Errors name the sdtp flag of the value at fault.
type TextOptions struct {
	// Model is a model spec with trained weights (see Open).
	Model string
	Open  OpenOptions
	// Tokenizer is the model's tokenizer.
	Tokenizer tokenizer.Tokenizer
	// Data is a JSONL file in Format (auto, text or dolly).
	Data   string
	Format string
	// A text keeps its first MaxTokens tokens and is skipped below
	// MinTokens; Limit > 0 reads only the file's first Limit texts.
	MaxTokens, MinTokens, Limit int
}

// LoadTexts opens the model, checks the tokenizer against it and reads
// the texts (ReadTexts); the caller closes the result.
func LoadTexts(o TextOptions) (*Texts, error) {
	if _, err := data.ParseFormat(o.Format); err != nil {
		return nil, fmt.Errorf("--data-format: %w", err)
	}
	m, closeModel, err := Open(o.Model, o.Open)
	if err != nil {
		return nil, fmt.Errorf("--model %s on --backend %s: %w", o.Model, o.Open.Backend, err)
	}
	if n := o.Tokenizer.VocabSize(); n > m.Config().Vocab {
		closeModel()
		return nil, fmt.Errorf("--tokenizer has %d tokens but the model's vocabulary only %d: a tokenizer of another model?", n, m.Config().Vocab)
	}
	t, err := ReadTexts(o)
	if err != nil {
		closeModel()
		return nil, err
	}
	t.Model, t.close = m, closeModel
	return t, nil
}

// ReadTexts reads and tokenizes the texts without a model (Model is nil).
func ReadTexts(o TextOptions) (*Texts, error) {
	format, err := data.ParseFormat(o.Format)
	if err != nil {
		return nil, fmt.Errorf("--data-format: %w", err)
	}
	texts, err := data.ReadFile(o.Data, format)
	if err != nil {
		return nil, err
	}
	if o.Limit > 0 && len(texts) > o.Limit {
		texts = texts[:o.Limit]
	}
	ex, skipped, err := data.Tokenize(o.Tokenizer, texts, o.MaxTokens, o.MinTokens)
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("%s: no text has at least %d tokens", o.Data, o.MinTokens)
	}
	t := &Texts{Read: len(texts), Skipped: skipped, close: func() error { return nil }}
	for _, x := range ex {
		t.IDs = append(t.IDs, x.IDs)
		t.Lines = append(t.Lines, x.Line)
	}
	return t, nil
}

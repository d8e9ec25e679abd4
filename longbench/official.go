package longbench

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// The official LongBench v1 configuration files, unchanged (licence and
// provenance in official/NOTICE and official/LICENSE).
var (
	//go:embed official/dataset2prompt.json
	dataset2prompt []byte
	//go:embed official/dataset2maxlen.json
	dataset2maxlen []byte
)

type officialConfig struct {
	prompts map[string]string
	maxLen  map[string]int
}

var loadOfficial = sync.OnceValues(func() (*officialConfig, error) {
	c := &officialConfig{}
	if err := json.Unmarshal(dataset2prompt, &c.prompts); err != nil {
		return nil, fmt.Errorf("embedded dataset2prompt.json: %w", err)
	}
	if err := json.Unmarshal(dataset2maxlen, &c.maxLen); err != nil {
		return nil, fmt.Errorf("embedded dataset2maxlen.json: %w", err)
	}
	for _, t := range tasks {
		if _, ok := c.prompts[t.Name]; !ok {
			return nil, fmt.Errorf("embedded dataset2prompt.json has no prompt for %s", t.Name)
		}
		if c.maxLen[t.Name] <= 0 {
			return nil, fmt.Errorf("embedded dataset2maxlen.json has no max length for %s", t.Name)
		}
	}
	return c, nil
})

// PromptTemplate returns the task's official prompt template (Python
// str.format syntax with {context} and {input}).
func (t Task) PromptTemplate() (string, error) {
	c, err := loadOfficial()
	if err != nil {
		return "", err
	}
	p, ok := c.prompts[t.Name]
	if !ok {
		return "", fmt.Errorf("no official prompt for task %q", t.Name)
	}
	return p, nil
}

// MaxNewTokens returns the task's official maximum number of new tokens.
func (t Task) MaxNewTokens() (int, error) {
	c, err := loadOfficial()
	if err != nil {
		return 0, err
	}
	n, ok := c.maxLen[t.Name]
	if !ok {
		return 0, fmt.Errorf("no official max length for task %q", t.Name)
	}
	return n, nil
}

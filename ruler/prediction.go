package ruler

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ParseID splits a sample ID (SampleID) into its task, length and index.
func ParseID(id string) (task string, length, index int, err error) {
	i := strings.LastIndexByte(id, '-')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(id[:i], '-')
	}
	if j <= 0 {
		return "", 0, 0, fmt.Errorf("sample id %q is not task-length-index", id)
	}
	length, err1 := strconv.Atoi(id[j+1 : i])
	index, err2 := strconv.Atoi(id[i+1:])
	if err1 != nil || err2 != nil || length <= 0 || index < 0 || SampleID(id[:j], length, index) != id {
		return "", 0, 0, fmt.Errorf("sample id %q is not task-length-index", id)
	}
	return id[:j], length, index, nil
}

// ParsePrediction decodes one predictions line, checking that it names
// its sample consistently and has what scoring needs: outputs, except on
// a failed row (whose sample may not have been made).
func ParsePrediction(b []byte) (Prediction, error) {
	var p Prediction
	if err := json.Unmarshal(b, &p); err != nil {
		return Prediction{}, fmt.Errorf("not a prediction row: %w", err)
	}
	task, length, index, err := ParseID(p.ID)
	if err != nil {
		return Prediction{}, err
	}
	if p.Task != task || p.Length != length || p.Index != index {
		return Prediction{}, fmt.Errorf("_id %s does not match task %q, length %d, index %d", p.ID, p.Task, p.Length, p.Index)
	}
	if _, err := LookupTask(task); err != nil {
		return Prediction{}, err
	}
	if len(p.Outputs) == 0 && p.Error == "" {
		return Prediction{}, fmt.Errorf("_id %s: no outputs", p.ID)
	}
	return p, nil
}

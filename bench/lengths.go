package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/model"
)

// ParseLengths parses prompt lengths such as "1024,2K,4096" into token
// counts (a K suffix multiplies by 1024).
func ParseLengths(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		mul := 1
		if strings.HasSuffix(f, "K") || strings.HasSuffix(f, "k") {
			mul, f = 1024, f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 1<<24 {
			return nil, fmt.Errorf("%q is not a positive token count", f)
		}
		out = append(out, n*mul)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no lengths given")
	}
	return out, nil
}

// FormatLengths writes lengths as ParseLengths reads them, in tokens.
func FormatLengths(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// LongLengths are the prompt lengths a GPU's default sweep adds to its
// 1K–32K when the device memory allows (ExtendLengths): the SDTP paper's
// Table 2 goes to 128K.
var LongLengths = []int{65536, 131072}

// DeviceBytes estimates the device memory the unpruned generation of an
// n-token prompt and newTokens new tokens needs besides the weights: the
// forward workspace and every layer's KV cache, elem bytes per element,
// plus a quarter and 1 GiB for the backend's own scratch (attention and
// cuBLAS workspaces, logits).
func DeviceBytes(c *model.Config, n, newTokens, elem int) int64 {
	alive := make([]int, c.Layers)
	for i := range alive {
		alive[i] = n
	}
	return activationBytes(c, n, newTokens, alive, elem)*5/4 + 1<<30
}

// ExtendLengths returns lengths followed by those of long (ascending)
// that the model can take and whose unpruned row fits free bytes of device
// memory (what is free once the weights are loaded), stopping at the first
// that does not. A synthetic model takes any length (its positions are
// extended: model.WithPositions); another model only its positions.
func ExtendLengths(lengths, long []int, c *model.Config, newTokens int, free int64, elem int) []int {
	out := slices.Clone(lengths)
	synthetic := strings.HasPrefix(c.Name, model.SyntheticPrefix)
	for _, n := range long {
		if !synthetic && c.MaxPos > 0 && n+newTokens > c.MaxPos {
			break
		}
		if DeviceBytes(c, n, newTokens, elem) > free {
			break
		}
		out = append(out, n)
	}
	return out
}

package bench

import (
	"fmt"
	"strconv"
	"strings"
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

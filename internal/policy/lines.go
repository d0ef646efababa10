package policy

import "strings"

// LineChange is one line of a line diff: " " kept, "-" removed, "+" added.
type LineChange struct {
	Op   string
	Text string
}

// LineDiff returns the shortest edit script from a to b, line by line
// (longest common subsequence). Policies are at most 64 KiB, so the
// quadratic table stays small.
func LineDiff(a, b string) []LineChange {
	x := strings.Split(strings.TrimRight(a, "\n"), "\n")
	y := strings.Split(strings.TrimRight(b, "\n"), "\n")
	n, m := len(x), len(y)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []LineChange
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case x[i] == y[j]:
			out = append(out, LineChange{" ", x[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, LineChange{"-", x[i]})
			i++
		default:
			out = append(out, LineChange{"+", y[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, LineChange{"-", x[i]})
	}
	for ; j < m; j++ {
		out = append(out, LineChange{"+", y[j]})
	}
	return out
}

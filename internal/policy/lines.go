package policy

import "strings"

// LineChange is one line of a line diff: " " kept, "-" removed, "+" added.
type LineChange struct {
	Op   string
	Text string
}

// LineDiff returns the shortest edit script from a to b, line by line
// (longest common subsequence). Policies are at most 64 KiB, so the
// quadratic table stays small. Lines that differ only in a trailing comma
// are the same line (shown as b has it): adding an entry to the end of a
// JSON list is one added line, not two.
func LineDiff(a, b string) []LineChange {
	xs := strings.Split(strings.TrimRight(a, "\n"), "\n")
	ys := strings.Split(strings.TrimRight(b, "\n"), "\n")
	x, y := withoutTrailingCommas(xs), withoutTrailingCommas(ys)
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
			out = append(out, LineChange{" ", ys[j]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, LineChange{"-", xs[i]})
			i++
		default:
			out = append(out, LineChange{"+", ys[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, LineChange{"-", xs[i]})
	}
	for ; j < m; j++ {
		out = append(out, LineChange{"+", ys[j]})
	}
	return out
}

func withoutTrailingCommas(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSuffix(l, ",")
	}
	return out
}

// LineBlock is a run of a line diff as a preview shows it: lines shown, or
// unchanged lines folded away (shown on request).
type LineBlock struct {
	Lines  []LineChange
	Hidden bool
}

// CollapseUnchanged folds the unchanged lines of a line diff that are more
// than context lines away from any change, so a one-line change in a long
// policy reads as that line and its surroundings. A fold of a single line
// would hide nothing worth hiding: such lines stay shown.
func CollapseUnchanged(lines []LineChange, context int) []LineBlock {
	shown := make([]bool, len(lines))
	for i, l := range lines {
		if l.Op == " " {
			continue
		}
		for k := max(0, i-context); k <= min(len(lines)-1, i+context); k++ {
			shown[k] = true
		}
	}
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && !shown[j] {
			j++
		}
		if j-i == 1 {
			shown[i] = true
		}
		i = max(j, i+1)
	}
	var out []LineBlock
	for i, l := range lines {
		if len(out) == 0 || out[len(out)-1].Hidden == shown[i] {
			out = append(out, LineBlock{Hidden: !shown[i]})
		}
		out[len(out)-1].Lines = append(out[len(out)-1].Lines, l)
	}
	return out
}

// Package sqlwhere builds the WHERE clause of a filtered listing with
// numbered parameters, so filters are always bound, never spliced into SQL.
package sqlwhere

import (
	"strconv"
	"strings"
)

// Where collects conditions joined by AND and the arguments they bind.
type Where struct {
	conds []string
	args  []any
}

// Add appends a condition; each $? in it becomes the next parameter, bound
// to args in order.
func (w *Where) Add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "$?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

// Equal adds "column = value" when value is set: an empty filter matches all.
func (w *Where) Equal(column, value string) {
	if value != "" {
		w.Add(column+" = $?", value)
	}
}

// Clause is "WHERE a AND b ...", or "" when there is no condition.
func (w *Where) Clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(w.conds, " AND ")
}

// Args are the bound arguments, in parameter order.
func (w *Where) Args() []any { return w.args }

// Param binds one more argument (a LIMIT, say) and returns its placeholder.
func (w *Where) Param(arg any) string {
	w.args = append(w.args, arg)
	return "$" + strconv.Itoa(len(w.args))
}

// EscapeLike makes s match literally inside a LIKE pattern.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
